using TorchSharp;

namespace ActorCkpt;

/// <summary>
/// Describes a rank's state as a local plan, then copies it into staging buffers (or, for an
/// in-place save, references the tensors where they are and copies only what cannot be read in
/// place: non-contiguous and device tensors), leaving out replicas another rank will write.
/// Chunks over the item size limit are split into runs of contiguous elements: row ranges along their
/// first dimension, or, when one row is over the limit, runs along the first dimension whose slices
/// fit (one index of each dimension before it); every rank splits a replicated tensor the same way,
/// so dedup still finds the replicas. Describing reads only shapes, so the buffers can be rented
/// (and waited for) between the two steps.
/// </summary>
internal static class StateStager
{
    /// <summary>
    /// The plan of <paramref name="state"/>: item i of <see cref="PreparedState.Plan"/> comes from
    /// source i; every item is at most <paramref name="maxItemBytes"/> (at least 8, an element's largest size).
    /// A tensor that cannot be read (disposed by its caller) is named.
    /// </summary>
    public static PreparedState Prepare(RankState state, long maxItemBytes, bool inPlace = false)
    {
        var items = new List<WriteItem>();
        var sources = new List<ItemSource>();
        foreach (var entry in state.Tensors)
        {
            try
            {
                var staging = inPlace && TensorBytes.IsDirect(entry.Tensor) ? ItemStaging.InPlace : ItemStaging.Copied;
                foreach (var (within, box) in Pieces(entry, maxItemBytes))
                {
                    items.Add(WriteItem.ForTensor(entry.Key, state.Rank, items.Count, entry.DType, entry.GlobalShape, box));
                    sources.Add(new ItemSource(entry, within, null, staging));
                }
            }
            catch (Exception e) when (e is not ActorCkptException)
            {
                // A tensor the caller disposed says only "Tensor invalid -- empty handle".
                throw new ActorCkptException($"'{entry.Key}' could not be read: {e.Message}", e);
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
                ItemStaging.InPlace => new TensorMemory(source.Tensor!.Tensor, StartByte(source), length).Memory,
                _ => buffers[next++].Slice(length),
            };
        }
        var progress = new StagingProgress();
        if (next == 0) progress.Complete();
        return new StagedState(prepared.Plan, items, buffers, prepared.Fingerprint) { Progress = progress };
    }

    /// <summary>
    /// Copies the items to copy into <paramref name="buffers"/>, in the plan's order, telling
    /// <paramref name="progress"/> after each; completes it at the end, or fails it and throws, naming
    /// the item whose copy failed (a tensor the caller disposed says only "Tensor invalid -- empty handle").
    /// </summary>
    public static void CopyAll(PreparedState prepared, IReadOnlyList<StagingBuffer> buffers, StagingProgress progress)
    {
        try
        {
            var next = 0;
            for (var i = 0; i < prepared.Sources.Count; i++)
            {
                var source = prepared.Sources[i];
                if (source.Staging == ItemStaging.Copied) CopyNamed(source, buffers[next++].Span((int)prepared.Plan.Items[i].ByteLength));
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

    /// <summary><see cref="Copy"/>, a failure naming the item's key.</summary>
    private static void CopyNamed(ItemSource source, Span<byte> target)
    {
        try
        {
            Copy(source, target);
        }
        catch (Exception e) when (e is not ActorCkptException)
        {
            throw new ActorCkptException($"'{source.Tensor?.Key ?? source.Object!.Key}' could not be copied to host memory: {e.Message}", e);
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
        if (source.Within is not { } within)
        {
            TensorBytes.CopyTo(entry.Tensor, target);
            return;
        }
        // Narrowed dimension by dimension, each view disposed once the next is taken.
        var piece = entry.Tensor;
        for (var d = 0; d < within.Rank; d++)
        {
            if (within.Lengths[d] == entry.Box.Lengths[d]) continue;
            var next = piece.narrow(d, within.Offsets[d], within.Lengths[d]);
            if (!ReferenceEquals(piece, entry.Tensor)) piece.Dispose();
            piece = next;
        }
        try
        {
            TensorBytes.CopyTo(piece, target);
        }
        finally
        {
            if (!ReferenceEquals(piece, entry.Tensor)) piece.Dispose();
        }
    }

    /// <summary>Where a piece's bytes start in its (contiguous) tensor: a piece is one run of elements in row-major order.</summary>
    private static long StartByte(ItemSource source) => source.Within is { } within
        ? Shapes.LinearIndex(source.Tensor!.Box.Lengths, within.Offsets.ToArray()) * DTypes.ElementSize(source.Tensor.DType)
        : 0;

    /// <summary>
    /// The pieces of a chunk, each with its box within the chunk (null: the whole chunk) and in the
    /// global tensor. Over <paramref name="maxItemBytes"/>, a chunk is cut along the first dimension d
    /// whose slices (one index of d, every index of the dimensions after it) fit: each piece is one index
    /// of every dimension before d, as many indices of d as fit, and all of the dimensions after it,
    /// so one contiguous run of elements in row-major order. d is 0 (row ranges) unless a row is over
    /// the limit; at the last dimension a slice is one element, at most 8 bytes, which the limit allows.
    /// </summary>
    internal static IEnumerable<(TensorBox? Within, TensorBox Box)> Pieces(TensorEntry entry, long maxItemBytes)
    {
        var lengths = entry.Box.Lengths;
        var size = DTypes.ElementSize(entry.DType);
        if (entry.Box.Volume * size <= maxItemBytes || entry.Box.Rank == 0)
        {
            yield return (null, entry.Box);
            yield break;
        }
        var rank = lengths.Count;
        var d = 0;
        var slice = entry.Box.Volume / lengths[0] * size;
        while (slice > maxItemBytes)
        {
            d++;
            slice /= lengths[d];
        }
        var perPiece = maxItemBytes / slice;
        var outer = new long[d];
        while (true)
        {
            for (long start = 0; start < lengths[d]; start += perPiece)
            {
                var offsets = new long[rank];
                var within = new long[rank];
                outer.CopyTo(offsets, 0);
                offsets[d] = start;
                for (var i = 0; i < rank; i++) within[i] = i < d ? 1 : i == d ? Math.Min(perPiece, lengths[d] - start) : lengths[i];
                yield return (new TensorBox(offsets, within), new TensorBox(offsets.Select((o, i) => entry.Box.Offsets[i] + o).ToArray(), within));
            }
            // The next index of the dimensions before d, the last fastest; done past the first's end.
            var k = d - 1;
            while (k >= 0 && ++outer[k] == lengths[k]) outer[k--] = 0;
            if (k < 0) yield break;
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

/// <summary>Where one item's bytes come from: a tensor (whole, or a piece of it) or a non-tensor entry.</summary>
/// <param name="Tensor">The tensor entry, for a tensor item.</param>
/// <param name="Within">The piece's box within the tensor when the chunk was split (<see cref="StateStager.Pieces"/>).</param>
/// <param name="Object">The entry, for a non-tensor item.</param>
/// <param name="Staging">Where writers find its bytes.</param>
internal sealed record ItemSource(TensorEntry? Tensor, TensorBox? Within, ObjectEntry? Object, ItemStaging Staging);

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
