
namespace ActorCkpt.Cli;

/// <summary>
/// <c>actorckpt inspect DIR [--step S] [--config FILE] [--json] [--metadata-json]</c>: the committed steps, or one
/// step's tensors, chunks and files, or its metadata as the version-1 JSON document. Every step shown is checked first (<see cref="StepConsistency"/>):
/// a damaged one is refused in one line before anything is printed (<c>ls</c> lists damaged steps as such).
/// </summary>
internal static class InspectCommand
{
    /// <summary>
    /// Prints the listing; returns the exit code. With <paramref name="metadataJson"/>, prints there instead
    /// the step's metadata (the newest committed step's without <paramref name="step"/>) as the version-1
    /// JSON document, exactly the bytes <see cref="MetadataJson.Serialize"/> gives, after the same checks.
    /// </summary>
    public static int Run(string dir, long? step, string? hocon, CliOutput output, TextWriter? metadataJson = null)
    {
        var store = RootStore.OpenCheckpoints(dir, hocon);
        // A root with no step lists none (a job before its first save, even before its planner made
        // the catalog): scripts and the crash harness read the empty list.
        if (step is null && metadataJson is null)
        {
            var (steps, checkedSteps, catalog) = Listed(store, dir, hocon);
            var rows = steps.Select((s, i) =>
            {
                var m = checkedSteps[i];
                // Committed on disk (the rename is the commit), but not what the other readers take until a planner journals it.
                var unsettled = catalog.Unsettled(s);
                output.Line($"step {s}: {m.Tensors.Count} tensors, {m.Objects.Count} entries, {m.Files.Count} files, {m.TotalFileBytes} bytes, saved on {m.WorldSize} ranks" +
                            (unsettled is null ? "" : $" (but {unsettled}: a planner's next start settles it)"));
                return new Dictionary<string, object?>
                {
                    ["step"] = s, ["tensors"] = m.Tensors.Count, ["files"] = m.Files.Count, ["bytes"] = m.TotalFileBytes, ["world_size"] = m.WorldSize,
                    ["settled"] = unsettled is null,
                };
            }).ToList();
            if (steps.Count == 0) output.Line($"no committed checkpoint in {dir}" + ReaderSteps.MemoryOnly(store));
            // The step verify, export and unshard take without --step.
            var latest = steps.Count == 0 ? (long?)null : ReaderSteps.Newest(steps, catalog);
            output.Report(new Dictionary<string, object?> { ["dir"] = dir, ["latest"] = latest, ["steps"] = rows });
            return 0;
        }

        // Retention beside a running job may delete the step while it is checked: the newest is checked again.
        var form = "";
        var md = ReaderSteps.ReadStep(store, dir, hocon, step, metadataJson is null ? output.Line : output.Note, (catalog, resolved) =>
        {
            store.ReadMetadata(resolved); // a step that is not there or not readable is named as such, before any output
            form = store.MetadataForm(resolved);
            catalog.RequireSettled(resolved);
            return StepConsistency.Require(store, resolved, catalog.For(resolved));
        });
        if (metadataJson is not null)
        {
            metadataJson.Write(System.Text.Encoding.UTF8.GetString(MetadataJson.Serialize(md)));
            metadataJson.Flush();
            return 0;
        }
        output.Line($"step {md.Step}: saved on {md.WorldSize} ranks at {md.CreatedUtc:O}, metadata in the {form}");
        foreach (var t in md.Tensors.Values.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            output.Line($"  {KeyText.Of(t.Key)} {DTypes.ToSafetensors(t.DType)} {Shapes.Format(t.Shape)} {t.ByteLength} bytes, {t.Chunks.Count} chunks");
            foreach (var c in t.Chunks)
                output.Line($"    {c.Box} rank {c.Rank} -> {c.Bytes.File} @{c.Bytes.Offset} +{c.Bytes.Length}");
        }
        foreach (var o in md.Objects)
            output.Line($"  entry {KeyText.Of(o.Key)} ({(o.Scope == ObjectScope.Rank ? $"rank {o.Rank}" : "global")}) -> {o.Bytes.File} +{o.Bytes.Length}");
        foreach (var f in md.Files) output.Line($"  file {f.Name} {f.Length} bytes (rank {f.Rank}, writer {f.Writer})");
        output.Report(new Dictionary<string, object?>
        {
            ["step"] = md.Step,
            ["world_size"] = md.WorldSize,
            ["bytes"] = md.TotalFileBytes,
            ["tensors"] = md.Tensors.Values.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => new Dictionary<string, object?>
            {
                ["key"] = t.Key,
                ["dtype"] = DTypes.ToSafetensors(t.DType),
                ["shape"] = t.Shape,
                ["chunks"] = t.Chunks.Select(c => new Dictionary<string, object?>
                {
                    ["offsets"] = c.Box.Offsets, ["lengths"] = c.Box.Lengths, ["rank"] = c.Rank,
                    ["file"] = c.Bytes.File, ["offset"] = c.Bytes.Offset, ["length"] = c.Bytes.Length,
                }).ToList(),
            }).ToList(),
            ["entries"] = md.Objects.Select(o => new Dictionary<string, object?>
            {
                ["key"] = o.Key, ["scope"] = o.Scope == ObjectScope.Rank ? "rank" : "global", ["rank"] = o.Rank, ["file"] = o.Bytes.File, ["length"] = o.Bytes.Length,
            }).ToList(),
            ["files"] = md.Files.Select(f => new Dictionary<string, object?> { ["name"] = f.Name, ["length"] = f.Length, ["rank"] = f.Rank }).ToList(),
        });
        return 0;
    }

    /// <summary>
    /// The steps to list, their checked metadata and the catalog they were checked against. Steps the
    /// catalog committed are listed, and checked, whatever is left of their metadata. One that fails its
    /// check because retention deleted it meanwhile (a running job's, which may delete a step every few
    /// milliseconds) is no damage: it is left out, as gone; when that leaves none, the list is made
    /// again (up to 3 times). <paramref name="listed"/> hears each list before its checks (for tests).
    /// </summary>
    internal static (IReadOnlyList<long> Steps, List<CheckpointMetadata> Checked, CatalogChecksums Catalog) Listed(CheckpointStore store, string dir, string? hocon,
        Action<IReadOnlyList<long>>? listed = null)
    {
        for (var attempt = 1; ; attempt++)
        {
            var catalog = ReaderSteps.Catalog(store, dir, hocon);
            var all = ReaderSteps.Of(store, catalog);
            listed?.Invoke(all);
            var steps = new List<long>();
            var checkedSteps = new List<CheckpointMetadata>();
            foreach (var step in all)
                try
                {
                    checkedSteps.Add(StepConsistency.Require(store, step, catalog.For(step)));
                    steps.Add(step);
                }
                catch (Exception e) when (e is CheckpointFormatException or CheckpointNotFoundException or IOException
                                          && ReaderSteps.DeletedNow(store, dir, hocon, step) is not null)
                {
                }
            if (steps.Count > 0 || steps.Count == all.Count || attempt == 3) return (steps, checkedSteps, catalog);
        }
    }
}
