
namespace ActorCkpt.Planner.Tests;

public class BoxSplitterSpec
{
    private static TensorBox Box(long[] offsets, long[] lengths) => new(offsets, lengths);

    /// <summary>Every element of <paramref name="box"/>, as row-major index tuples.</summary>
    private static IEnumerable<string> Elements(TensorBox box)
    {
        if (box.Volume == 0) yield break;
        var index = box.Offsets.ToArray();
        while (true)
        {
            yield return string.Join(",", index);
            var d = box.Rank - 1;
            while (d >= 0 && ++index[d] == box.Offsets[d] + box.Lengths[d]) index[d] = box.Offsets[d--];
            if (d < 0) yield break;
        }
    }

    [Fact]
    public void Random_boxes_should_split_into_disjoint_pieces_covering_the_box_each_within_the_limit_in_every_layout()
    {
        var random = new Random(7);
        for (var trial = 0; trial < 500; trial++)
        {
            var rank = random.Next(1, 4);
            var shape = Enumerable.Range(0, rank).Select(_ => (long)random.Next(1, 9)).ToArray();
            TensorBox Inside(TensorBox outer)
            {
                var lengths = outer.Lengths.Select(l => (long)random.Next(1, (int)l + 1)).ToArray();
                var offsets = outer.Lengths.Zip(lengths, (o, l) => (long)random.Next(0, (int)(o - l) + 1)).Zip(outer.Offsets, (r, o) => r + o).ToArray();
                return Box(offsets, lengths);
            }
            var whole = TensorBox.Whole(shape);
            // The box to split inside two layouts holding it (a stored chunk and a destination).
            var first = Inside(whole);
            var second = Inside(whole);
            var box = first.Intersect(second);
            if (box is null) continue;
            var max = random.Next(1, (int)box.Volume + 2);

            var pieces = BoxSplitter.Split(box, [first, second], max).ToList();

            Assert.All(pieces, p => Assert.True(BoxSplitter.Span(p, first) <= max && BoxSplitter.Span(p, second) <= max, $"{p} spans over {max}"));
            var covered = pieces.SelectMany(Elements).ToList();
            Assert.Equal(covered.Count, covered.Distinct().Count());
            Assert.Equal(Elements(box).OrderBy(e => e), covered.OrderBy(e => e));
        }
    }

    [Fact]
    public void A_box_within_the_limit_should_come_back_whole()
    {
        var layout = TensorBox.Whole([100, 100]);
        var box = Box([10, 0], [5, 100]);

        Assert.Equal([box], BoxSplitter.Split(box, [layout], 500));
    }

    [Fact]
    public void Pieces_of_a_whole_tensor_should_be_consecutive_runs_in_row_major_order()
    {
        var whole = TensorBox.Whole([3, 5, 7]);

        var pieces = BoxSplitter.Split(whole, [whole], 9).ToList();

        // Rows of 7 do not pair within 9, so each row of dim 2 is a piece.
        Assert.Equal(15, pieces.Count);
        long next = 0;
        foreach (var p in pieces)
        {
            Assert.Equal(next, Shapes.LinearIndex(whole.Lengths, p.Offsets.ToArray()));
            next += p.Volume;
        }
        Assert.Equal(whole.Volume, next);
    }

    [Fact]
    public void A_column_shard_of_a_tensor_over_2_GiB_should_split_into_row_groups_of_at_most_the_limit()
    {
        // int32 [262208, 2048] (just over 2 GiB) loaded whole from a half of its columns: the
        // region spans the whole destination, so it must be cut into groups of rows.
        var target = TensorBox.Whole([262_208, 2048]);
        var stored = Box([0, 1024], [262_208, 1024]);
        var maxElements = (1L << 30) / 4;

        var pieces = BoxSplitter.Split(stored, [stored, target], maxElements).ToList();

        // (k - 1) · 2048 + 1024 elements for k rows: 131,072 rows fit, twice, and 64 are left.
        Assert.Equal([131_072L, 131_072L, 64L], pieces.Select(p => p.Lengths[0]));
        Assert.All(pieces, p => Assert.True(BoxSplitter.Span(p, target) <= maxElements));
        Assert.Equal(stored.Volume, pieces.Sum(p => p.Volume));
        Assert.All(pieces, p => Assert.Equal([1024L], p.Lengths.Skip(1)));
    }
}
