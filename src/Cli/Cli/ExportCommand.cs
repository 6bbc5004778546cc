using System.Globalization;

namespace ActorCkpt.Cli;

/// <summary>
/// <c>actorckpt export DIR --out OUT [--step S] [--max-shard-size 5GB] [--index-from REF] [--dtype keep|bf16|f32] [--json]</c>:
/// the Hugging Face layout of a committed step (see <see cref="HuggingFaceExporter"/>).
/// </summary>
internal static class ExportCommand
{
    /// <summary>Exports; returns the exit code.</summary>
    public static int Run(string dir, string outDir, long? step, string maxShardSize, string? indexFrom, string dtype, CliOutput output)
    {
        var store = CheckpointDirectory.Open(dir);
        var resolved = store.ResolveStep(step);
        if (indexFrom is not null && !File.Exists(indexFrom)) throw new FileNotFoundException($"--index-from '{indexFrom}' does not exist");
        var options = new ExportOptions(ParseSize(maxShardSize, "--max-shard-size"), dtype switch
        {
            "keep" => ExportDType.Keep,
            "bf16" => ExportDType.BFloat16,
            _ => ExportDType.Float32,
        }, indexFrom);
        ExportResult result;
        using (var progress = output.Progress($"export step {resolved}", 0))
            result = HuggingFaceExporter.Export(store, resolved, outDir, options, output.FileWritten, progress);
        output.Line($"exported step {resolved}: {result.Tensors} tensors, {result.TotalSize} bytes in {result.Files.Count} files to {outDir}");
        output.Report(new Dictionary<string, object?>
        {
            ["step"] = resolved, ["out"] = outDir, ["files"] = result.Files, ["tensors"] = result.Tensors, ["total_size"] = result.TotalSize, ["index"] = result.Index,
        });
        return 0;
    }

    /// <summary>
    /// A size as transformers writes it: a number of bytes, or with a unit: KB, MB, GB (powers of
    /// 1000) or KiB, MiB, GiB (powers of 1024). Throws naming <paramref name="flag"/> otherwise.
    /// </summary>
    public static long ParseSize(string text, string flag)
    {
        var units = new (string Unit, long Factor)[] { ("KiB", 1L << 10), ("MiB", 1L << 20), ("GiB", 1L << 30), ("KB", 1000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("B", 1) };
        var trimmed = text.Trim();
        var (unit, factor) = units.FirstOrDefault(u => trimmed.EndsWith(u.Unit, StringComparison.OrdinalIgnoreCase) && !(u.Unit == "B" && trimmed.Length > 1 && char.IsLetter(trimmed[^2])));
        var number = unit is null ? trimmed : trimmed[..^unit.Length].Trim();
        return decimal.TryParse(number, NumberStyles.Number, CultureInfo.InvariantCulture, out var n) && n > 0
            ? (long)(n * (unit is null ? 1 : factor))
            : throw new ArgumentException($"{flag} '{text}' is not a size (e.g. 5GB, 500MB, 2GiB or a number of bytes)");
    }
}
