using System.Globalization;
using System.Text.Json;

namespace ActorCkpt;

/// <summary>
/// The object tier (the <c>actorckpt.tiers.object</c> section; docs/object-storage.md): committed
/// steps copied in the background to a second root, an object store, every <see cref="Every"/>
/// steps, while saves go on to the checkpoint root. Unset properties leave the configuration's value;
/// <see cref="CheckpointerOptions.Settings"/> and <c>ActorCkptOptions.Settings</c> override these.
/// </summary>
public sealed class ObjectTierOptions
{
    /// <summary>The tier's root: <c>az://container/prefix</c>, <c>s3://bucket/prefix</c> or an absolute directory (<c>tiers.object.root</c>; none by default).</summary>
    public string? Root { get; set; }

    /// <summary>Steps whose number is a multiple of this are uploaded (<c>tiers.object.every</c>, 1 by default).</summary>
    public long? Every { get; set; }

    /// <summary>An upload not done by then is abandoned and the step stays local (<c>tiers.object.upload-timeout</c>, 1 hour by default).</summary>
    public TimeSpan? UploadTimeout { get; set; }

    /// <summary>The newest uploaded steps the tier keeps; 0 keeps every one (<c>tiers.object.keep-last</c>, 0 by default).</summary>
    public int? KeepLast { get; set; }

    /// <summary>With <see cref="KeepLast"/>: uploaded steps that are multiples of this stay in the tier too; 0: off (<c>tiers.object.keep-every</c>, 0 by default).</summary>
    public long? KeepEvery { get; set; }

    /// <summary>The HOCON these options amount to, one line per property set.</summary>
    internal string ToHocon() => SettingsHocon.Lines(
        ("tiers.object.root", Root is null ? null : JsonSerializer.Serialize(Root)),
        ("tiers.object.every", Every?.ToString(CultureInfo.InvariantCulture)),
        ("tiers.object.upload-timeout", UploadTimeout is { } timeout ? timeout.TotalMilliseconds.ToString("R", CultureInfo.InvariantCulture) + "ms" : null),
        ("tiers.object.keep-last", KeepLast?.ToString(CultureInfo.InvariantCulture)),
        ("tiers.object.keep-every", KeepEvery?.ToString(CultureInfo.InvariantCulture)));
}
