namespace ActorCkpt;

/// <summary>
/// Cuts a box into pieces that each span at most a given number of elements in one or more
/// row-major layouts, so a read or a copy of any piece fits one span of memory (Span&lt;byte&gt; and
/// single reads stop at 2 GiB, tensors do not). Pieces are whole runs of the outermost dimension
/// that can be cut; a box that already fits comes back as is.
/// </summary>
internal static class BoxSplitter
{
    /// <summary>
    /// The pieces of <paramref name="box"/>, in row-major order, such that from its first to its
    /// last element each piece spans at most <paramref name="maxElements"/> elements of every
    /// layout in <paramref name="layouts"/> (boxes holding <paramref name="box"/>, each laid out
    /// row-major on its own). An empty box has no pieces.
    /// </summary>
    public static IEnumerable<TensorBox> Split(TensorBox box, IReadOnlyList<TensorBox> layouts, long maxElements)
    {
        if (maxElements < 1) throw new ArgumentOutOfRangeException(nameof(maxElements), maxElements, "a piece must be allowed at least one element");
        return box.Volume == 0 ? Array.Empty<TensorBox>() : Pieces(box, layouts.ToArray(), maxElements);
    }

    /// <summary>True when <paramref name="box"/> spans at most <paramref name="maxElements"/> elements of every layout: it needs no splitting.</summary>
    public static bool Fits(TensorBox box, long maxElements, params ReadOnlySpan<TensorBox> layouts)
    {
        foreach (var layout in layouts)
            if (Span(box, layout) > maxElements) return false;
        return true;
    }

    /// <summary>
    /// Elements of <paramref name="layout"/> from <paramref name="box"/>'s first element to its last,
    /// both included: what a row-major array laid out as <paramref name="layout"/> holds between them.
    /// </summary>
    public static long Span(TensorBox box, TensorBox layout)
    {
        ReadOnlySpan<long> offsets = box.OffsetSpan, lengths = box.LengthSpan, outerOffsets = layout.OffsetSpan, outerLengths = layout.LengthSpan;
        long first = 0, last = 0;
        for (var d = 0; d < offsets.Length; d++)
        {
            var offset = offsets[d] - outerOffsets[d];
            first = first * outerLengths[d] + offset;
            last = last * outerLengths[d] + offset + lengths[d] - 1;
        }
        return last - first + 1;
    }

    private static IEnumerable<TensorBox> Pieces(TensorBox box, TensorBox[] layouts, long max)
    {
        if (Fits(box, max, layouts))
        {
            yield return box;
            yield break;
        }
        // The span exceeds max >= 1, so some dimension is longer than 1: cut the outermost one.
        var dim = 0;
        while (box.Lengths[dim] == 1) dim++;
        var slice = With(box, dim, box.Offsets[dim], 1);
        var sliceSpan = layouts.Max(l => Span(slice, l));
        // Consecutive slices along dim lie a stride apart; k slices span (k - 1) · stride + sliceSpan.
        var stride = layouts.Max(l => Shapes.Volume(l.Lengths.Skip(dim + 1).ToArray()));
        var perPiece = sliceSpan > max ? 1 : 1 + (max - sliceSpan) / stride;
        for (long i = 0; i < box.Lengths[dim]; i += perPiece)
        {
            var piece = With(box, dim, box.Offsets[dim] + i, Math.Min(perPiece, box.Lengths[dim] - i));
            if (sliceSpan <= max)
            {
                yield return piece;
                continue;
            }
            foreach (var inner in Pieces(piece, layouts, max)) yield return inner;
        }
    }

    private static TensorBox With(TensorBox box, int dim, long offset, long length)
    {
        var offsets = box.Offsets.ToArray();
        var lengths = box.Lengths.ToArray();
        offsets[dim] = offset;
        lengths[dim] = length;
        return new TensorBox(offsets, lengths);
    }
}
