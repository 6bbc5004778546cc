using System.Text.Json.Serialization;

namespace ActorCkpt;

/// <summary>Where a step's bytes live: the checkpoint directory, or replicas in the tmpfs of R distinct hosts.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<StorageTier>))]
internal enum StorageTier
{
    /// <summary>Data files and metadata in the checkpoint root, as every save before the memory tier.</summary>
    [JsonStringEnumMemberName("disk")] Disk,

    /// <summary>Replicas of each data file in host memory (tmpfs files) on R distinct hosts.</summary>
    [JsonStringEnumMemberName("memory")] Memory,
}
