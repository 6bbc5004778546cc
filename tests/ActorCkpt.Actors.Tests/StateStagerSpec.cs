using TorchSharp;

namespace ActorCkpt.Actors.Tests;

public class StateStagerSpec
{
    [Theory]
    [InlineData(240, 0, 2)]   // whole rows: 2 pieces of one row each
    [InlineData(80, 1, 6)]    // a row is over: each index of dim 0, runs of dim 1
    [InlineData(16, 3, 48)]   // down to the last dimension: runs of 4 of its 5 elements, then 1
    [InlineData(8, 3, 72)]    // runs of 2 elements (the limit's 8 bytes: 5 = 2 + 2 + 1)
    public void Pieces_should_be_contiguous_runs_in_order_that_tile_the_chunk_under_the_limit(long limit, int cutDim, int count)
    {
        // A float32 chunk [2, 3, 4, 5] at offset [2, 0, 0, 0] of a [4, 3, 4, 5] tensor: 480 bytes.
        using var tensor = torch.zeros(new long[] { 2, 3, 4, 5 });
        var entry = new TensorEntry("t", tensor, new long[] { 4, 3, 4, 5 }, new TensorBox(new long[] { 2, 0, 0, 0 }, new long[] { 2, 3, 4, 5 }));

        var pieces = StateStager.Pieces(entry, limit).ToList();

        Assert.Equal(count, pieces.Count);
        long next = 0;
        foreach (var (within, box) in pieces)
        {
            Assert.NotNull(within);
            // Each piece starts where the one before ended, in row-major order, and is one run.
            Assert.Equal(next, Shapes.LinearIndex(entry.Box.Lengths, within!.Offsets.ToArray()));
            next += within.Volume;
            Assert.InRange(within.Volume * 4, 1, limit);
            for (var d = 0; d < 4; d++)
            {
                Assert.Equal(d < cutDim ? 1 : d > cutDim ? entry.Box.Lengths[d] : within.Lengths[d], within.Lengths[d]);
                Assert.Equal(entry.Box.Offsets[d] + within.Offsets[d], box.Offsets[d]);
            }
        }
        Assert.Equal(entry.Box.Volume, next);
    }

    [Fact]
    public void A_chunk_within_the_limit_or_a_scalar_should_be_one_piece()
    {
        using var small = torch.zeros(2, 3);
        using var scalar = torch.tensor(1.0f);
        Assert.Null(Assert.Single(StateStager.Pieces(new TensorEntry("s", small, new long[] { 2, 3 }, new TensorBox(new long[] { 0, 0 }, new long[] { 2, 3 })), 24)).Within);
        Assert.Null(Assert.Single(StateStager.Pieces(new TensorEntry("c", scalar, Array.Empty<long>(), new TensorBox(Array.Empty<long>(), Array.Empty<long>())), 8)).Within);
    }
}
