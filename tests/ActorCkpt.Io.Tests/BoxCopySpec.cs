namespace ActorCkpt.Io.Tests;

public class BoxCopySpec
{
    /// <summary>Element-by-element reference of the same copy.</summary>
    private static void Naive(int[] src, long[] srcShape, long[] srcStart, int[] dst, long[] dstShape, long[] dstStart, long[] region)
    {
        foreach (var idx in Indices(region))
        {
            long s = 0, d = 0;
            for (var k = 0; k < region.Length; k++)
            {
                s = s * srcShape[k] + srcStart[k] + idx[k];
                d = d * dstShape[k] + dstStart[k] + idx[k];
            }
            dst[d] = src[s];
        }
    }

    private static IEnumerable<long[]> Indices(long[] shape)
    {
        if (shape.Any(s => s == 0)) yield break;
        var idx = new long[shape.Length];
        while (true)
        {
            yield return (long[])idx.Clone();
            var k = shape.Length - 1;
            while (k >= 0 && ++idx[k] == shape[k]) idx[k--] = 0;
            if (k < 0) yield break;
        }
    }

    [Fact]
    public void Copy_should_match_an_element_by_element_copy_for_random_boxes()
    {
        var random = new Random(42);
        for (var trial = 0; trial < 300; trial++)
        {
            var rank = random.Next(1, 4);
            var srcShape = Enumerable.Range(0, rank).Select(_ => (long)random.Next(1, 7)).ToArray();
            var dstShape = Enumerable.Range(0, rank).Select(_ => (long)random.Next(1, 7)).ToArray();
            var region = srcShape.Zip(dstShape, (a, b) => (long)random.Next(1, (int)Math.Min(a, b) + 1)).ToArray();
            var srcStart = srcShape.Zip(region, (s, r) => (long)random.Next(0, (int)(s - r) + 1)).ToArray();
            var dstStart = dstShape.Zip(region, (s, r) => (long)random.Next(0, (int)(s - r) + 1)).ToArray();
            var src = Enumerable.Range(1, (int)srcShape.Aggregate(1L, (a, b) => a * b)).ToArray();
            var expected = new int[dstShape.Aggregate(1L, (a, b) => a * b)];
            var actual = new int[expected.Length];
            Naive(src, srcShape, srcStart, expected, dstShape, dstStart, region);

            // The source buffer starts at element "skip", as after a block-aligned partial read.
            var skip = srcStart.Length == 0 ? 0 : (int)(srcStart[0] * srcShape.Skip(1).Aggregate(1L, (a, b) => a * b));
            var srcBytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(src.AsSpan(skip));
            // The destination is only the window from the region's first element to its last, as for a tensor over 2 GiB.
            var first = Linear(dstShape, dstStart);
            var last = Linear(dstShape, dstStart.Zip(region, (s, r) => s + r - 1).ToArray());
            var window = System.Runtime.InteropServices.MemoryMarshal.AsBytes(actual.AsSpan((int)first, (int)(last - first + 1)));
            BoxCopy.Copy(srcBytes, srcShape, skip, srcStart, window, dstShape, first, dstStart, region, sizeof(int));

            Assert.Equal(expected, actual);
        }
    }

    private static long Linear(long[] shape, long[] index) => shape.Zip(index).Aggregate(0L, (acc, p) => acc * p.First + p.Second);

    [Fact]
    public void Copy_of_a_scalar_should_copy_one_element()
    {
        var src = BitConverter.GetBytes(3.5f);
        var dst = new byte[4];

        BoxCopy.Copy(src, Array.Empty<long>(), 0, Array.Empty<long>(), dst, Array.Empty<long>(), 0, Array.Empty<long>(), Array.Empty<long>(), 4);

        Assert.Equal(3.5f, BitConverter.ToSingle(dst));
    }
}
