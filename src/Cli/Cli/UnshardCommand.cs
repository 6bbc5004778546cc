
namespace ActorCkpt.Cli;

/// <summary>
/// <c>actorckpt unshard DIR --out OUT --strategy one-file|one-file-per-tensor|chunks [--chunk-size BYTES] [--optim] [--step S] [--config FILE] [--json]</c>:
/// full tensors as safetensors files (see <see cref="Unsharder"/>), refused before anything is
/// written when the step fails <see cref="StepConsistency"/>.
/// </summary>
internal static class UnshardCommand
{
    /// <summary>Unshards; returns the exit code.</summary>
    public static int Run(string dir, string outDir, string strategy, long chunkSize, bool optim, long? step, string? hocon, CliOutput output)
    {
        var store = RootStore.OpenCheckpoints(dir, hocon);
        // Retention beside a running job may delete the step while it is read: the newest is read again.
        return ReaderSteps.ReadStep(store, dir, hocon, step, output.Line, (catalog, resolved) =>
        {
            store.ReadMetadata(resolved); // a step that is not there or not readable fails here, before any output or progress
            // Nothing is written from a step whose metadata is not what the catalog recorded or disagrees with its files' headers.
            catalog.RequireSettled(resolved);
            StepConsistency.Require(store, resolved, catalog.For(resolved), out var checkedChecksum);
            var how = strategy switch
            {
                "one-file" => UnshardStrategy.OneFile,
                "one-file-per-tensor" => UnshardStrategy.OneFilePerTensor,
                _ => UnshardStrategy.Chunks,
            };
            OutputFolder.CheckNotPlannersFolder(outDir, dir, "unshard");
            using var interrupts = OutputInterrupts.Register("unshard");
            OutputFolder.Check(outDir, "unshard"); // a destination not ours to replace fails here, before any progress
            UnshardResult result;
            using (var progress = output.Progress($"unshard step {resolved}", 0))
                result = Unsharder.Unshard(store, resolved, outDir, how, chunkSize, optim, OutputPause.After(output.FileWritten), progress, metadataChecksum: checkedChecksum);
            output.Line($"unsharded step {resolved}: {result.Tensors} tensors, {result.Bytes} bytes in {result.Files.Count} files to {outDir}");
            output.Report(new Dictionary<string, object?>
            {
                ["step"] = resolved, ["out"] = outDir, ["strategy"] = strategy, ["files"] = result.Files, ["tensors"] = result.Tensors, ["bytes"] = result.Bytes,
            });
            return 0;
        });
    }
}
