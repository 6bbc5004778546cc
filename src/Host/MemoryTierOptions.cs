using System.Globalization;
using System.Text.Json;

namespace ActorCkpt;

/// <summary>
/// The memory tier (the <c>actorckpt.tiers</c> section; docs/memory-tier.md): each save kept as
/// replica files in host memory (tmpfs) on <see cref="Replicas"/> distinct hosts, and every
/// <see cref="DiskEvery"/>-th step also written to the checkpoint root. Unset properties leave the
/// configuration's value; <see cref="CheckpointerOptions.Settings"/> and
/// <c>ActorCkptOptions.Settings</c> override these.
/// </summary>
public sealed class MemoryTierOptions
{
    /// <summary>On: saves go to the memory tier as the policy says (<c>tiers.memory.enabled</c>; off by default).</summary>
    public bool? Enabled { get; set; }

    /// <summary>Copies of each shard, each on its own host, own host first; 1 to 16 (<c>tiers.memory.replicas</c>, 2 by default).</summary>
    public int? Replicas { get; set; }

    /// <summary>Memory for replicas per host: a size ("8GiB") or a percentage of the tmpfs ("50%", the default) (<c>tiers.memory.budget</c>).</summary>
    public string? Budget { get; set; }

    /// <summary>Memory steps whose number is a multiple of this also go to disk; 0 only on request (<c>tiers.disk.every</c>, 10 by default).</summary>
    public long? DiskEvery { get; set; }

    /// <summary>This node's failure domain: processes of one host share its replicas (<c>tiers.memory.host</c>; the machine name by default).</summary>
    public string? Host { get; set; }

    /// <summary>Where replica files live, an absolute path on tmpfs (<c>tiers.memory.directory</c>, <c>/dev/shm/actorckpt</c> by default).</summary>
    public string? Directory { get; set; }

    /// <summary>The HOCON these options amount to, one line per property set.</summary>
    internal string ToHocon() => SettingsHocon.Lines(
        ("tiers.memory.enabled", Enabled is { } enabled ? enabled ? "on" : "off" : null),
        ("tiers.memory.replicas", Replicas?.ToString(CultureInfo.InvariantCulture)),
        ("tiers.memory.budget", Budget is null ? null : JsonSerializer.Serialize(Budget)),
        ("tiers.disk.every", DiskEvery?.ToString(CultureInfo.InvariantCulture)),
        ("tiers.memory.host", Host is null ? null : JsonSerializer.Serialize(Host)),
        ("tiers.memory.directory", Directory is null ? null : JsonSerializer.Serialize(Directory)));
}
