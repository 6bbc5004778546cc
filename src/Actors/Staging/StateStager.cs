using ActorCkpt.Planner;
using TorchSharp;

namespace ActorCkpt.Actors;

/// <summary>
/// Copies a rank's state into staging buffers and describes it as a local plan. Chunks over the
/// item size limit are split into row ranges along their first dimension; every rank splits a
/// replicated tensor the same way, so dedup still finds the replicas.
/// </summary>
internal static class StateStager
{
    /// <summary>
    /// Stages <paramref name="state"/>. On failure every buffer rented so far goes back to the pool
    /// and the exception propagates.
    /// </summary>
    public static StagedState Stage(RankState state, StagingPool pool, long maxItemBytes)
    {
        var items = new List<WriteItem>();
        var buffers = new List<StagingBuffer>();
        try
        {
            foreach (var entry in state.Tensors)
                foreach (var (piece, box) in Pieces(entry, maxItemBytes))
                {
                    using var owned = ReferenceEquals(piece, entry.Tensor) ? null : piece;
                    var item = WriteItem.ForTensor(entry.Key, state.Rank, items.Count, entry.DType, entry.GlobalShape, box);
                    var buffer = pool.Rent(item.ByteLength);
                    buffers.Add(buffer);
                    TensorBytes.CopyTo(piece, buffer.Span((int)item.ByteLength));
                    items.Add(item);
                }
            foreach (var entry in state.Objects)
            {
                var item = WriteItem.ForObject(entry.Key, state.Rank, items.Count, entry.Scope, entry.Bytes.Length);
                var buffer = pool.Rent(entry.Bytes.Length);
                buffers.Add(buffer);
                entry.Bytes.CopyTo(buffer.Span(entry.Bytes.Length));
                items.Add(item);
            }
        }
        catch
        {
            pool.Return(buffers);
            throw;
        }
        return new StagedState(new LocalSavePlan(state.Rank, state.WorldSize, items), buffers);
    }

    private static IEnumerable<(torch.Tensor Piece, TensorBox Box)> Pieces(TensorEntry entry, long maxItemBytes)
    {
        var bytes = entry.Box.Volume * Planner.DTypes.ElementSize(entry.DType);
        if (bytes <= maxItemBytes || entry.Box.Rank == 0)
        {
            yield return (entry.Tensor, entry.Box);
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
            yield return (entry.Tensor.narrow(0, start, n), new TensorBox(offsets, lengths));
        }
    }
}
