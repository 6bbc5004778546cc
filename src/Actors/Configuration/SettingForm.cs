using System.Globalization;
using Akka.Configuration;

namespace ActorCkpt;

/// <summary>
/// The form a setting's value must take (an integer, a duration, a size, on/off, one of a few
/// words, any text), with the phrase that names it in an error and the check that a value fits it.
/// </summary>
/// <param name="Expected">How an error names the form: "an integer", "a duration with its unit, such as 30s or 500ms".</param>
/// <param name="Fits">True when the value at a path of a configuration has this form.</param>
internal sealed record SettingForm(string Expected, Func<Config, string, bool> Fits)
{
    /// <summary>How an error names the form for the value at a path of a configuration that does not fit: <see cref="Expected"/>, or a narrower phrase.</summary>
    public Func<Config, string, string>? ExpectedOf { get; init; }

    /// <summary>How an error names the form for the value at <paramref name="path"/> of <paramref name="config"/>, which does not fit.</summary>
    public string ExpectedFor(Config config, string path) => ExpectedOf?.Invoke(config, path) ?? Expected;

    /// <summary>A 32-bit integer.</summary>
    public static SettingForm Int { get; } = new("an integer", (c, p) => int.TryParse(c.GetString(p), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
    {
        // An integer out of range reads as no integer at all otherwise.
        ExpectedOf = (c, p) => OutOfRange(c.GetString(p), int.MinValue, int.MaxValue),
    };

    /// <summary>A 64-bit integer.</summary>
    public static SettingForm Long { get; } = new("an integer", (c, p) => long.TryParse(c.GetString(p), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
    {
        ExpectedOf = (c, p) => OutOfRange(c.GetString(p), long.MinValue, long.MaxValue),
    };

    /// <summary>"an integer", with the bound it passed when <paramref name="text"/> is an integer out of range.</summary>
    private static string OutOfRange(string? text, System.Numerics.BigInteger min, System.Numerics.BigInteger max) =>
        !System.Numerics.BigInteger.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? "an integer"
        : n > max ? $"an integer of at most {max}"
        : $"an integer of at least {min}";

    /// <summary>
    /// A duration as HOCON writes them (Akka's own parser decides), with its unit: a bare number,
    /// which Akka reads as milliseconds, and "infinite" (no deadline at all) are refused.
    /// </summary>
    public static SettingForm Duration { get; } = new("a duration with its unit, such as 30s or 500ms",
        (c, p) => c.GetString(p) is { } text && text.Trim().Length > 0 && char.IsLetter(text.Trim()[^1]) && text.Trim() != "infinite" && Parses(() => c.GetTimeSpan(p)))
    {
        // Akka's parser takes no sign; no setting takes a negative duration either, so say that.
        ExpectedOf = (c, p) => c.GetString(p)?.TrimStart().StartsWith('-') == true
            ? "a duration with its unit, such as 30s or 500ms, and never negative"
            : "a duration with its unit, such as 30s or 500ms",
    };

    /// <summary>A size in bytes as HOCON writes them (Akka's own parser decides).</summary>
    public static SettingForm Size { get; } = new("a size in bytes such as 64KiB", (c, p) => Parses(() => c.GetByteSize(p) ?? throw new FormatException()));

    /// <summary>A size in bytes, or a percentage ("50%") of something the key names.</summary>
    public static SettingForm SizeOrPercent { get; } = new("a size such as 8GiB or a percentage such as 50%",
        (c, p) => TryPercent(c.GetString(p), out _) || Size.Fits(c, p));

    /// <summary>The fraction a percentage such as "50%" or "12.5 %" names (0.5, 0.125); false for anything else.</summary>
    public static bool TryPercent(string? text, out double fraction)
    {
        fraction = 0;
        if (text is null || !text.TrimEnd().EndsWith('%')) return false;
        var number = text.TrimEnd()[..^1].Trim();
        if (!double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var percent)) return false;
        fraction = percent / 100;
        return true;
    }

    /// <summary>On or off (also true/false, yes/no).</summary>
    public static SettingForm Bool { get; } = new("on or off", (c, p) => c.GetString(p) is "on" or "off" or "true" or "false" or "yes" or "no");

    /// <summary>Any text.</summary>
    public static SettingForm Text { get; } = new("text", (c, p) => true);

    /// <summary>One of <paramref name="words"/>.</summary>
    public static SettingForm OneOf(params string[] words) =>
        new("one of " + string.Join(", ", words.Select(w => w.Length == 0 ? "\"\"" : w)), (c, p) => words.Contains(c.GetString(p) ?? ""));

    private static bool Parses(Func<object> parse)
    {
        try
        {
            parse();
            return true;
        }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentException or NotSupportedException or ConfigurationException)
        {
            return false;
        }
    }
}
