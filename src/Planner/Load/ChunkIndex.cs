using System.Runtime.CompilerServices;

namespace ActorCkpt;

/// <summary>
/// The chunks of a saved tensor sorted by where they start along dimension 0, so a load finds the
/// chunks a wanted box overlaps by binary search instead of testing every chunk: planning a
/// rank's load stays near-linear in its wanted boxes when thousands of ranks saved the tensor.
/// Built once per <see cref="TensorMetadata"/> and shared by every plan made against it.
/// </summary>
internal sealed class ChunkIndex
{
    private static readonly ConditionalWeakTable<TensorMetadata, ChunkIndex> Built = new();
    private readonly StoredChunk[] _byStart;
    private readonly long[] _starts;
    private readonly long _longest;

    private ChunkIndex(TensorMetadata tensor)
    {
        _byStart = tensor.Chunks.OrderBy(c => c.Box.Rank == 0 ? 0 : c.Box.Offsets[0]).ToArray();
        _starts = _byStart.Select(c => c.Box.Rank == 0 ? 0 : c.Box.Offsets[0]).ToArray();
        _longest = _byStart.Length == 0 ? 0 : _byStart.Max(c => c.Box.Rank == 0 ? 1 : c.Box.Lengths[0]);
    }

    /// <summary>The index of <paramref name="tensor"/>'s chunks (built on first use).</summary>
    public static ChunkIndex Of(TensorMetadata tensor) => Built.GetValue(tensor, t => new ChunkIndex(t));

    /// <summary>The chunks that may overlap <paramref name="box"/>: all those whose span along dimension 0 meets the box's.</summary>
    public IEnumerable<StoredChunk> Candidates(TensorBox box)
    {
        if (box.Rank == 0)
        {
            foreach (var c in _byStart) yield return c;
            yield break;
        }
        long from = box.Offsets[0] - _longest + 1, to = box.Offsets[0] + box.Lengths[0];
        var i = Array.BinarySearch(_starts, from);
        if (i < 0) i = ~i;
        // Equal starts: step back to the first of them.
        while (i > 0 && _starts[i - 1] >= from) i--;
        for (; i < _starts.Length && _starts[i] < to; i++) yield return _byStart[i];
    }
}
