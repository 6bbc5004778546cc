
namespace ActorCkpt.Planner.Tests;

public class TensorBoxSpec
{
    [Fact]
    public void Intersect_should_return_the_common_part()
    {
        var a = new TensorBox(new long[] { 0, 2 }, new long[] { 4, 4 });
        var b = new TensorBox(new long[] { 3, 0 }, new long[] { 4, 4 });

        var common = a.Intersect(b)!;

        Assert.Equal(new long[] { 3, 2 }, common.Offsets);
        Assert.Equal(new long[] { 1, 2 }, common.Lengths);
        Assert.Equal(2, common.Volume);
    }

    [Fact]
    public void Boxes_that_only_touch_should_not_intersect()
    {
        var a = new TensorBox(new long[] { 0, 0 }, new long[] { 2, 4 });
        var b = new TensorBox(new long[] { 2, 0 }, new long[] { 2, 4 });

        Assert.Null(a.Intersect(b));
    }

    [Fact]
    public void Boxes_should_compare_by_value()
    {
        Assert.Equal(new TensorBox(new long[] { 1 }, new long[] { 2 }), new TensorBox(new long[] { 1 }, new long[] { 2 }));
        Assert.NotEqual(new TensorBox(new long[] { 1 }, new long[] { 2 }), new TensorBox(new long[] { 1 }, new long[] { 3 }));
    }

    [Fact]
    public void Fits_in_and_whole_should_follow_the_shape()
    {
        var box = new TensorBox(new long[] { 2, 0 }, new long[] { 2, 3 });

        Assert.True(box.FitsIn(new long[] { 4, 3 }));
        Assert.False(box.FitsIn(new long[] { 3, 3 }));
        Assert.False(box.IsWhole(new long[] { 4, 3 }));
        Assert.True(TensorBox.Whole(new long[] { 4, 3 }).IsWhole(new long[] { 4, 3 }));
    }

    [Fact]
    public void Negative_or_mismatched_boxes_should_be_refused()
    {
        Assert.Throws<ArgumentException>(() => new TensorBox(new long[] { -1 }, new long[] { 2 }));
        Assert.Throws<ArgumentException>(() => new TensorBox(new long[] { 0, 0 }, new long[] { 2 }));
    }

    [Fact]
    public void The_hash_should_be_the_same_in_every_process()
    {
        // A box that crossed the wire carries the hash its sender computed: a per-process seed would break equality.
        Assert.Equal(582099339, new TensorBox(new long[] { 1, 2 }, new long[] { 3, 4 }).GetHashCode());
    }
}
