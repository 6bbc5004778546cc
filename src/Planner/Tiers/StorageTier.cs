using System.Text.Json.Serialization;

namespace ActorCkpt;

/// <summary>Where a step's bytes are kept.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<StorageTier>))]
public enum StorageTier
{
    /// <summary>Data files under the checkpoint root, as every step was before the memory tier.</summary>
    [JsonStringEnumMemberName("disk")] Disk,

    /// <summary>Replicas in the host memory (tmpfs) of distinct nodes.</summary>
    [JsonStringEnumMemberName("memory")] Memory,

    /// <summary>A copy uploaded in the background to the object tier's root (<c>actorckpt.tiers.object.root</c>).</summary>
    [JsonStringEnumMemberName("object")] Object,
}
