using TorchSharp;

namespace ActorCkpt;

/// <summary>
/// Describes a rank's state as a local plan, then copies it into staging buffers (or, for an
/// in-place save, references the tensors where they are and copies only what cannot be read in
/// place: non-contiguous and device tensors), leaving out replicas another rank will write.
/// Chunks over the item size limit are split into row ranges along their first dimension; every
/// rank splits a replicated tensor the same way, so dedup still finds the replicas. Describing
/// reads only shapes, so the buffers can be rented (and waited for) between the two steps.
/// </summary>
internal static class StateStager
{
    /// <summary>
    /// The plan of <paramref name="state"/>: item i of <see cref="PreparedState.Plan"/> comes from
    /// source i. Throws naming the key when a chunk cannot be split under <paramref name="maxItemBytes"/>.
    /// </summary>
    public static PreparedState Prepare(RankState state, long maxItemBytes, bool inPlace = false)
    {
        var items = new List<WriteItem>();
        var sources = new List<ItemSource>();
        foreach (var entry in state.Tensors)
        {
            var staging = inPlace && TensorBytes.IsDirect(entry.Tensor) ? ItemStaging.InPlace : ItemStaging.Copied;
            foreach (var (rows, box) in Pieces(entry, maxItemBytes))
            {
                items.Add(WriteItem.ForTensor(entry.Key, state.Rank, items.Count, entry.DType, entry.GlobalShape, box));
                sources.Add(new ItemSource(entry, rows, null, staging));
            }
        }
        foreach (var entry in state.Objects)
        {
            items.Add(WriteItem.ForObject(entry.Key, state.Rank, items.Count, entry.Scope, entry.Bytes.Length));
            sources.Add(new ItemSource(null, null, entry, inPlace ? ItemStaging.InPlace : ItemStaging.Copied));
        }
        var plan = new LocalSavePlan(state.Rank, state.WorldSize, items);
        return new PreparedState(plan, sources, SavePlanCache.Fingerprint(plan));
    }

    /// <summary>
    /// Copies the state into <paramref name="buffers"/> (one per item that is copied, in order, as
    /// rented for <see cref="PreparedState.Lengths"/>); items read in place are referenced. On
    /// failure the exception propagates and the buffers stay the caller's to return.
    /// </summary>
    public static StagedState Fill(PreparedState prepared, IReadOnlyList<StagingBuffer> buffers)
    {
        var staged = Lay(prepared, buffers);
        CopyAll(prepared, buffers, staged.Progress);
        return staged;
    }

    /// <summary>
    /// Where each item's bytes will be once <see cref="CopyAll"/> has run on the same arguments:
    /// a staged state writers may be handed at once, as long as they wait for each item
    /// (<see cref="StagedState.Progress"/>, complete at once when nothing is to be copied).
    /// </summary>
    public static StagedState Lay(PreparedState prepared, IReadOnlyList<StagingBuffer> buffers)
    {
        var items = new ReadOnlyMemory<byte>[prepared.Sources.Count];
        var next = 0;
        for (var i = 0; i < prepared.Sources.Count; i++)
        {
            var length = (int)prepared.Plan.Items[i].ByteLength;
            var source = prepared.Sources[i];
            items[i] = source.Staging switch
            {
                ItemStaging.Unstaged => ReadOnlyMemory<byte>.Empty,
                ItemStaging.InPlace when source.Object is { } entry => entry.Bytes,
                ItemStaging.InPlace => new TensorMemory(source.Tensor!.Tensor, (source.Rows?.Start ?? 0) * (source.Rows is null ? 0 : length / source.Rows.Value.Count), length).Memory,
                _ => buffers[next++].Slice(length),
            };
        }
        var progress = new StagingProgress();
        if (next == 0) progress.Complete();
        return new StagedState(prepared.Plan, items, buffers, prepared.Fingerprint) { Progress = progress };
    }

    /// <summary>
    /// Copies the items to copy into <paramref name="buffers"/>, in the plan's order, telling
    /// <paramref name="progress"/> after each; completes it at the end, or fails it and rethrows.
    /// </summary>
    public static void CopyAll(PreparedState prepared, IReadOnlyList<StagingBuffer> buffers, StagingProgress progress)
    {
        try
        {
            var next = 0;
            for (var i = 0; i < prepared.Sources.Count; i++)
            {
                var source = prepared.Sources[i];
                if (source.Staging == ItemStaging.Copied) Copy(source, buffers[next++].Span((int)prepared.Plan.Items[i].ByteLength));
                progress.Advance(i + 1);
            }
            progress.Complete();
        }
        catch (Exception e)
        {
            progress.Fail(e);
            throw;
        }
    }

    private static void Copy(ItemSource source, Span<byte> target)
    {
        if (source.Object is { } obj)
        {
            obj.Bytes.CopyTo(target);
            return;
        }
        var entry = source.Tensor!;
        using var piece = source.Rows is var (start, n) ? entry.Tensor.narrow(0, start, n) : null;
        TensorBytes.CopyTo(piece ?? entry.Tensor, target);
    }

    /// <summary>The pieces of a chunk: the whole (no row range) or row ranges along dim 0, with their boxes.</summary>
    private static IEnumerable<((long Start, long Count)? Rows, TensorBox Box)> Pieces(TensorEntry entry, long maxItemBytes)
    {
        var bytes = entry.Box.Volume * DTypes.ElementSize(entry.DType);
        if (bytes <= maxItemBytes || entry.Box.Rank == 0)
        {
            yield return (null, entry.Box);
            yield break;
        }
        var rows = entry.Box.Lengths[0];
        var rowBytes = bytes / rows;
        if (rowBytes > maxItemBytes)
            throw new ActorCkptException($"'{entry.Key}': one row along dim 0 is {rowBytes} bytes, over actorckpt.shard.max-item-bytes = {maxItemBytes}");
        var rowsPerPiece = maxItemBytes / rowBytes;
        for (long start = 0; start < rows; start += rowsPerPiece)
        {
            var n = Math.Min(rowsPerPiece, rows - start);
            var offsets = entry.Box.Offsets.ToArray();
            var lengths = entry.Box.Lengths.ToArray();
            offsets[0] += start;
            lengths[0] = n;
            yield return ((start, n), new TensorBox(offsets, lengths));
        }
    }
}

/// <summary>Where writers find an item's bytes.</summary>
internal enum ItemStaging
{
    /// <summary>In a staging buffer it is copied to.</summary>
    Copied,
    /// <summary>Where it is (an in-place save of a contiguous CPU tensor or an entry).</summary>
    InPlace,
    /// <summary>Nowhere: a replica another rank writes (see <see cref="ReplicaMemory"/>).</summary>
    Unstaged,
}

/// <summary>Where one item's bytes come from: a tensor (whole, or a row range of it) or a non-tensor entry.</summary>
/// <param name="Tensor">The tensor entry, for a tensor item.</param>
/// <param name="Rows">The row range along dim 0 when the chunk was split.</param>
/// <param name="Object">The entry, for a non-tensor item.</param>
/// <param name="Staging">Where writers find its bytes.</param>
internal sealed record ItemSource(TensorEntry? Tensor, (long Start, long Count)? Rows, ObjectEntry? Object, ItemStaging Staging);

/// <summary>A rank's state described and not yet copied: its local plan and where each item comes from.</summary>
/// <param name="Plan">The local plan.</param>
/// <param name="Sources">Item i's source.</param>
/// <param name="Fingerprint">The plan's fingerprint with every item staged: what <see cref="ReplicaMemory"/> knows it by.</param>
internal sealed record PreparedState(LocalSavePlan Plan, IReadOnlyList<ItemSource> Sources, ulong Fingerprint)
{
    /// <summary>Bytes of each item that is copied, in order, for renting buffers.</summary>
    public IReadOnlyList<long> Lengths => Plan.Items.Where((_, i) => Sources[i].Staging == ItemStaging.Copied).Select(i => i.ByteLength).ToArray();

    /// <summary>The same state with the tensor items at <paramref name="positions"/> (ascending) left unstaged.</summary>
    public PreparedState Skipping(IReadOnlyList<int> positions)
    {
        if (positions.Count == 0) return this;
        var sources = Sources.ToArray();
        foreach (var i in positions) sources[i] = sources[i] with { Staging = ItemStaging.Unstaged };
        return this with { Plan = Plan with { Unstaged = positions }, Sources = sources };
    }
}
