namespace ActorCkpt.Cli;

/// <summary>
/// <c>actorckpt export DIR --out OUT [--step S] [--max-shard-size 5GB] [--index-from REF] [--dtype keep|bf16|f32] [--config FILE] [--json]</c>:
/// the Hugging Face layout of a committed step (see <see cref="HuggingFaceExporter"/>), refused
/// before anything is written when the step fails <see cref="StepConsistency"/>.
/// </summary>
internal static class ExportCommand
{
    /// <summary>Exports; returns the exit code.</summary>
    public static int Run(string dir, string outDir, long? step, long maxShardSize, string? indexFrom, string dtype, string? hocon, CliOutput output)
    {
        var store = RootStore.OpenCheckpoints(dir, hocon);
        // Retention beside a running job may delete the step while it is read: the newest is read again.
        return ReaderSteps.ReadStep(store, dir, hocon, step, output.Line, (catalog, resolved) =>
        {
            store.ReadMetadata(resolved); // a step that is not there or not readable fails here, before any output or progress
            // Nothing is written from a step whose metadata is not what the catalog recorded or disagrees with its files' headers.
            catalog.RequireSettled(resolved);
            StepConsistency.Require(store, resolved, catalog.For(resolved), out var checkedChecksum);
            if (indexFrom is not null) ReferenceIndexBound.Check(indexFrom);
            var options = new ExportOptions(maxShardSize, dtype switch
            {
                "keep" => ExportDType.Keep,
                "bf16" => ExportDType.BFloat16,
                _ => ExportDType.Float32,
            }, indexFrom) { MetadataChecksum = checkedChecksum };
            OutputFolder.CheckNotPlannersFolder(outDir, dir, "export");
            using var interrupts = OutputInterrupts.Register("export");
            OutputFolder.Check(outDir, "export"); // a destination not ours to replace fails here, before any progress
            ExportResult result;
            using (var progress = output.Progress($"export step {resolved}", 0))
                result = HuggingFaceExporter.Export(store, resolved, outDir, options, OutputPause.After(output.FileWritten), progress);
            output.Line($"exported step {resolved}: {result.Tensors} tensors, {result.TotalSize} bytes in {result.Files.Count} files to {outDir}");
            // Followed as asked, but a reference that names what the step lacks is worth a word (a file may be left without a tensor).
            if (result.ReferenceKeysMissing.Count > 0)
                output.Line($"note: --index-from names {result.ReferenceKeysMissing.Count} {(result.ReferenceKeysMissing.Count == 1 ? "key" : "keys")} step {resolved} does not hold " +
                            $"({string.Join(", ", result.ReferenceKeysMissing.Take(3).Select(k => $"'{k}'"))}{(result.ReferenceKeysMissing.Count > 3 ? ", …" : "")})" +
                            (result.EmptyFiles.Count == 0 ? "" : $"; {string.Join(", ", result.EmptyFiles)} {(result.EmptyFiles.Count == 1 ? "holds" : "hold")} no tensor"));
            output.Report(new Dictionary<string, object?>
            {
                ["step"] = resolved, ["out"] = outDir, ["files"] = result.Files, ["tensors"] = result.Tensors, ["total_size"] = result.TotalSize, ["index"] = result.Index,
                ["reference_keys_missing"] = result.ReferenceKeysMissing, ["empty_files"] = result.EmptyFiles,
            });
            return 0;
        });
    }
}
