using System.Text.Json.Serialization;

namespace ActorCkpt;

/// <summary>Where the memory replicas of one data file are: indices into <see cref="MemoryCopies.Hosts"/>.</summary>
/// <param name="File">The data file's name.</param>
/// <param name="Rank">The rank that saved it.</param>
/// <param name="Holders">Hosts that acknowledged a copy, in placement order (the rank's own host first).</param>
/// <param name="Lost">Holders whose copy is lost (host gone, or the copy refused as corrupt).</param>
internal sealed record ShardHolders(
    [property: JsonPropertyName("file")] string File,
    [property: JsonPropertyName("rank")] int Rank,
    [property: JsonPropertyName("holders")] IReadOnlyList<int> Holders,
    [property: JsonPropertyName("lost")] IReadOnlyList<int> Lost);
