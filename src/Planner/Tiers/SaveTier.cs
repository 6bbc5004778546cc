using System.Text.Json.Serialization;

namespace ActorCkpt;

/// <summary>The tier a save asks for; <see cref="TierPolicy.Choose"/> turns it into the round to run.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SaveTier>))]
public enum SaveTier
{
    /// <summary>Follow the configured policy: memory every step when the tier is on, also disk every N steps.</summary>
    [JsonStringEnumMemberName("policy")] Policy,

    /// <summary>Memory only, whatever the step number.</summary>
    [JsonStringEnumMemberName("memory")] Memory,

    /// <summary>Straight to disk, as a save without the memory tier.</summary>
    [JsonStringEnumMemberName("disk")] Disk,

    /// <summary>Memory first, then persisted to disk in the background.</summary>
    [JsonStringEnumMemberName("memory-and-disk")] MemoryAndDisk,
}
