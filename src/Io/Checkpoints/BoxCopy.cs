namespace ActorCkpt;

/// <summary>
/// Copies a rectangular region between two row-major arrays of different shapes, in runs as long
/// as the layouts allow (trailing dimensions that both arrays hold whole merge into one run).
/// </summary>
internal static class BoxCopy
{
    /// <summary>
    /// Copies the region of <paramref name="regionLengths"/> elements starting at
    /// <paramref name="srcStart"/> in an array of <paramref name="srcShape"/> to
    /// <paramref name="dstStart"/> in an array of <paramref name="dstShape"/>.
    /// <paramref name="src"/> holds the source array from element <paramref name="srcBaseElement"/> on
    /// (a partial read), <paramref name="dst"/> the destination array from element
    /// <paramref name="dstBaseElement"/> on (a window of a destination larger than one span).
    /// </summary>
    public static void Copy(
        ReadOnlySpan<byte> src, IReadOnlyList<long> srcShape, long srcBaseElement, IReadOnlyList<long> srcStart,
        Span<byte> dst, IReadOnlyList<long> dstShape, long dstBaseElement, IReadOnlyList<long> dstStart,
        IReadOnlyList<long> regionLengths, int elementSize)
    {
        var rank = regionLengths.Count;
        if (rank == 0)
        {
            src.Slice(checked((int)(-srcBaseElement * elementSize)), elementSize)
                .CopyTo(dst.Slice(checked((int)(-dstBaseElement * elementSize)), elementSize));
            return;
        }
        for (var d = 0; d < rank; d++) if (regionLengths[d] == 0) return;

        // Merge trailing dimensions held whole by region, source and destination into one run.
        var inner = rank - 1;
        long run = regionLengths[inner];
        while (inner > 0 && regionLengths[inner] == srcShape[inner] && regionLengths[inner] == dstShape[inner])
        {
            inner--;
            run *= regionLengths[inner];
        }
        var srcStrides = Strides(srcShape);
        var dstStrides = Strides(dstShape);
        var runBytes = checked((int)(run * elementSize));

        Span<long> index = stackalloc long[rank];
        while (true)
        {
            long s = -srcBaseElement, t = -dstBaseElement;
            for (var d = 0; d < rank; d++)
            {
                s += (srcStart[d] + index[d]) * srcStrides[d];
                t += (dstStart[d] + index[d]) * dstStrides[d];
            }
            src.Slice(checked((int)(s * elementSize)), runBytes).CopyTo(dst.Slice(checked((int)(t * elementSize)), runBytes));

            var dim = inner - 1;
            while (dim >= 0 && ++index[dim] == regionLengths[dim])
            {
                index[dim] = 0;
                dim--;
            }
            if (dim < 0) return;
        }
    }

    private static long[] Strides(IReadOnlyList<long> shape)
    {
        var strides = new long[shape.Count];
        long stride = 1;
        for (var d = shape.Count - 1; d >= 0; d--)
        {
            strides[d] = stride;
            stride *= shape[d];
        }
        return strides;
    }
}
