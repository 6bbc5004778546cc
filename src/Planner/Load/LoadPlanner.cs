namespace ActorCkpt;

/// <summary>
/// Plans a rank's reads by intersecting the chunks it wants with the chunks on disk, so a
/// checkpoint loads on any number of ranks and any row/column sharding (resharding).
/// Each read covers the stored bytes from the region's first to its last element, widened to
/// checksum blocks so every byte read is verified. Regions spanning more than a read may (in the
/// stored chunk or in the destination) are cut into several reads, so tensors of any size load.
/// </summary>
internal static class LoadPlanner
{
    /// <summary>
    /// The most bytes one read spans, in its stored chunk and in its destination (1 GiB): spans
    /// of memory and single reads stop at 2 GiB, and a read is widened by up to two checksum blocks.
    /// </summary>
    public const long MaxReadBytes = 1L << 30;

    /// <summary>
    /// Plans the reads filling <paramref name="wanted"/> from <paramref name="metadata"/>. Missing
    /// and unexpected keys are errors when <paramref name="strict"/> says so; dtype and shape
    /// mismatches always are. Throws <see cref="LoadPlanException"/> listing the keys, before
    /// anything is read. The plan lists both kinds of mismatched keys whatever the mode. No read
    /// spans more than <paramref name="maxReadBytes"/> of its chunk or destination (before block widening).
    /// <paramref name="unreadable"/> are keys the checkpoint holds outside <paramref name="metadata"/>
    /// (an import's tensors of a dtype ActorCkpt does not load): unexpected when not wanted.
    /// <paramref name="entries"/> are the non-tensor entries the state of a rank names: one the checkpoint does not hold for
    /// that rank (globally or as the rank's own) is missing. Entries the state does not name are not unexpected: every load
    /// returns all of its rank's entries.
    /// </summary>
    public static LoadPlan Plan(CheckpointMetadata metadata, IReadOnlyList<WantedChunk> wanted, StrictHandling strict, long maxReadBytes = MaxReadBytes,
        IEnumerable<string>? unreadable = null, (int Rank, IEnumerable<string> Keys)? entries = null)
    {
        var missing = new SortedSet<string>(StringComparer.Ordinal);
        if (entries is var (rank, keys))
        {
            var held = metadata.Objects.Where(o => o.Scope == ObjectScope.Global || o.Rank == rank).Select(o => o.Key).ToHashSet(StringComparer.Ordinal);
            missing.UnionWith(keys.Where(k => !held.Contains(k)));
        }
        var mismatches = new List<string>();
        var reads = new List<ReadItem>();
        foreach (var want in wanted)
        {
            if (!metadata.Tensors.TryGetValue(want.Key, out var tensor))
            {
                missing.Add(want.Key);
                continue;
            }
            if (tensor.DType != want.DType)
            {
                mismatches.Add($"'{want.Key}' is {DTypes.ToSafetensors(tensor.DType)} in the checkpoint but {DTypes.ToSafetensors(want.DType)} in the state");
                continue;
            }
            if (!Shapes.Equal(tensor.Shape, want.GlobalShape))
            {
                mismatches.Add($"'{want.Key}' has shape {Shapes.Format(tensor.Shape)} in the checkpoint but {Shapes.Format(want.GlobalShape)} in the state");
                continue;
            }
            if (!want.Box.FitsIn(tensor.Shape))
            {
                mismatches.Add($"'{want.Key}': wanted chunk {want.Box} lies outside shape {Shapes.Format(tensor.Shape)}");
                continue;
            }
            if (want.Box.Volume == 0) continue;

            long covered = 0;
            foreach (var stored in ChunkIndex.Of(tensor).Candidates(want.Box))
            {
                var region = stored.Box.Intersect(want.Box);
                if (region is null) continue;
                covered += region.Volume;
                var maxElements = maxReadBytes / DTypes.ElementSize(tensor.DType);
                if (BoxSplitter.Fits(region, maxElements, stored.Box, want.Box))
                    reads.Add(ReadFor(want, tensor.DType, stored, region));
                else
                    foreach (var piece in BoxSplitter.Split(region, [stored.Box, want.Box], maxElements))
                        reads.Add(ReadFor(want, tensor.DType, stored, piece));
            }
            if (covered != want.Box.Volume)
                mismatches.Add($"'{want.Key}': the checkpoint covers {covered} of the {want.Box.Volume} elements of wanted chunk {want.Box}");
        }

        var wantedKeys = wanted.Select(w => w.Key).ToHashSet(StringComparer.Ordinal);
        var unexpected = metadata.Tensors.Keys.Concat(unreadable ?? []).Where(k => !wantedKeys.Contains(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        var raiseMissing = Strictness.ForMissing(strict) == KeyAction.Raise && missing.Count > 0;
        var raiseUnexpected = Strictness.ForUnexpected(strict) == KeyAction.Raise && unexpected.Count > 0;
        if (mismatches.Count > 0 || raiseMissing || raiseUnexpected)
            throw new LoadPlanException(raiseMissing ? missing.ToList() : Array.Empty<string>(), raiseUnexpected ? unexpected : Array.Empty<string>(), mismatches);

        var ordered = reads.OrderBy(r => r.Source.Bytes.File, StringComparer.Ordinal)
            .ThenBy(r => r.Source.Bytes.Offset + r.RangeStart).ToList();
        return new LoadPlan(metadata.Step, ordered, missing.ToList(), unexpected);
    }

    private static ReadItem ReadFor(WantedChunk want, DType dtype, StoredChunk stored, TensorBox region)
    {
        var size = DTypes.ElementSize(dtype);
        var shape = stored.Box.Lengths;
        var first = region.OffsetsWithin(stored.Box);
        var last = new long[first.Length];
        for (var d = 0; d < last.Length; d++) last[d] = first[d] + region.Lengths[d] - 1;
        var start = Shapes.LinearIndex(shape, first) * size;
        var end = (Shapes.LinearIndex(shape, last) + 1) * size;

        long block = stored.Bytes.BlockSize;
        var alignedStart = start / block * block;
        var alignedEnd = Math.Min((end + block - 1) / block * block, stored.Bytes.Length);
        return new ReadItem(want.Target, want.Key, dtype, stored, alignedStart, alignedEnd - alignedStart, region, want.Box);
    }
}
