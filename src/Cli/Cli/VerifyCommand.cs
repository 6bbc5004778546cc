
namespace ActorCkpt.Cli;

/// <summary>
/// <c>actorckpt verify DIR [--step S] [--config FILE] [--json]</c>: check a committed step against its
/// catalog (the metadata's checksum, when the root has a catalog), against its data files' own
/// headers, and recompute every checksum of its bytes.
/// </summary>
internal static class VerifyCommand
{
    /// <summary>Verifies; returns 0 when everything matches, 1 when something is bad (one line per bad file and tensor).</summary>
    public static int Run(string dir, long? step, string? hocon, CliOutput output)
    {
        var store = RootStore.OpenCheckpoints(dir, hocon);
        // Files a running job's retention deleted meanwhile are not damage: the newest is verified again.
        var (target, metadata, catalogChecked, failures) = ReaderSteps.ReadStep(store, dir, hocon, step, output.Line, (catalog, target) =>
        {
            var (metadata, checksum) = store.ReadMetadataWithChecksum(target);
            var failures = new List<VerificationFailure>();
            if (catalog.Unsettled(target) is { } unsettled) failures.Add(new VerificationFailure(CheckpointLayout.MetadataFile, "(file)", unsettled));
            if (StepConsistency.CheckCatalogChecksum(checksum, catalog.For(target)) is { } differs) failures.Add(differs);
            using (var progress = output.Progress($"verify step {target}", 0))
                failures.AddRange(CheckpointVerifier.Verify(store, target, progress));
            return (target, metadata, Checked: catalog.For(target) is not null, failures);
        }, failed: r => r.failures.Count > 0);
        foreach (var f in failures) output.Line(f.ToString());
        var chunks = metadata.Tensors.Values.Sum(t => t.Chunks.Count) + metadata.Objects.Count;
        output.Line(failures.Count == 0
            ? $"OK step {target}: {metadata.Files.Count} files, {chunks} chunks and entries verified"
            : $"FAILED step {target}: {failures.Count} problems");
        output.Report(new Dictionary<string, object?>
        {
            ["step"] = target,
            ["ok"] = failures.Count == 0,
            ["catalog_checked"] = catalogChecked,
            ["files"] = metadata.Files.Count,
            ["chunks_and_entries"] = chunks,
            ["bytes"] = metadata.TotalFileBytes,
            ["problems"] = failures.Select(f => f.ToString()).ToArray(),
        });
        return failures.Count == 0 ? 0 : 1;
    }
}
