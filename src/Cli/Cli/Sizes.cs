using System.Globalization;

namespace ActorCkpt.Cli;

/// <summary>Sizes as transformers writes them: a number of bytes, or with a unit: KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024).</summary>
internal static class Sizes
{
    private static readonly (string Unit, long Factor)[] Units =
    {
        ("KiB", 1L << 10), ("MiB", 1L << 20), ("GiB", 1L << 30), ("TiB", 1L << 40),
        ("KB", 1000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("TB", 1_000_000_000_000), ("B", 1),
    };

    /// <summary>The bytes <paramref name="text"/> stands for; null when it is not a positive size or does not fit in 64 bits.</summary>
    public static long? Parse(string text)
    {
        var trimmed = text.Trim();
        var (unit, factor) = Units.FirstOrDefault(u => trimmed.EndsWith(u.Unit, StringComparison.OrdinalIgnoreCase)
                                                        && !(u.Unit == "B" && trimmed.Length > 1 && char.IsLetter(trimmed[^2])));
        var number = unit is null ? trimmed : trimmed[..^unit.Length].Trim();
        if (!decimal.TryParse(number, NumberStyles.Number, CultureInfo.InvariantCulture, out var n) || n <= 0) return null;
        // A decimal holds up to 7.9e28, so the product is exact before the range check; a size past long is refused, not wrapped.
        var bytes = n >= long.MaxValue ? decimal.MaxValue : n * (unit is null ? 1 : factor);
        return bytes >= 1 && bytes <= long.MaxValue ? (long)bytes : null;
    }

    /// <summary>A size for messages and help: in the largest binary unit that divides it, else in bytes.</summary>
    public static string Format(long bytes)
    {
        foreach (var (unit, factor) in new[] { ("TiB", 1L << 40), ("GiB", 1L << 30), ("MiB", 1L << 20), ("KiB", 1L << 10) })
            if (bytes >= factor && bytes % factor == 0) return (bytes / factor).ToString(CultureInfo.InvariantCulture) + unit;
        return bytes.ToString(CultureInfo.InvariantCulture) + " B";
    }
}
