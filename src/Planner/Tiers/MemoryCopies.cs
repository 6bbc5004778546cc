using System.Text.Json.Serialization;

namespace ActorCkpt;

/// <summary>A step's memory tier as the catalog records it: the hosts once, and each shard's holders by index.</summary>
/// <param name="Hosts">The hosts holding any replica of the step; shards refer to them by index (small for thousands of shards).</param>
/// <param name="Shards">Every data file of the step with its holders.</param>
/// <param name="MetadataChecksum">xxHash3-64 of the step's memory metadata.</param>
/// <param name="Evicted">True once the step has left memory; it then never loads from there.</param>
internal sealed record MemoryCopies(
    [property: JsonPropertyName("hosts")] IReadOnlyList<string> Hosts,
    [property: JsonPropertyName("shards")] IReadOnlyList<ShardHolders> Shards,
    [property: JsonPropertyName("metadata_checksum")] string MetadataChecksum,
    [property: JsonPropertyName("evicted")] bool Evicted = false);
