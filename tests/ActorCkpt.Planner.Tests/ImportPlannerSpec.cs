namespace ActorCkpt.Planner.Tests;

public class ImportPlannerSpec
{
    /// <summary>An imported tensor: one whole chunk at offset 100 of "f", block size 1, no checksums (as HuggingFaceCheckpoint describes one).</summary>
    private static CheckpointMetadata Whole(string key, long[] shape, DType dtype = DType.Float32)
    {
        var length = Shapes.Volume(shape) * DTypes.ElementSize(dtype);
        var chunk = new StoredChunk(TensorBox.Whole(shape), key, 0, new StoredBytes("f", 100, length, 1, Array.Empty<ulong>()));
        return new CheckpointMetadata(CheckpointMetadata.CurrentFormatVersion, 0, 1, DateTimeOffset.UnixEpoch,
            new Dictionary<string, TensorMetadata> { [key] = new(key, dtype, shape, new[] { chunk }) },
            Array.Empty<ObjectMetadata>(), Array.Empty<DataFileMetadata>());
    }

    private static WantedChunk Want(long[] shape, long[] offsets, long[] lengths) => new(0, "w", DType.Float32, shape, new TensorBox(offsets, lengths));

    [Fact]
    public void A_row_shard_should_be_one_exact_read()
    {
        var plan = ImportPlanner.Plan(Whole("w", new long[] { 10, 6 }), new[] { Want(new long[] { 10, 6 }, new long[] { 4, 0 }, new long[] { 3, 6 }) }, StrictHandling.RaiseAll);

        var read = Assert.Single(plan.Reads);
        Assert.Equal(4 * 6 * 4, read.RangeStart);
        Assert.Equal(3 * 6 * 4, read.RangeLength);
    }

    [Fact]
    public void A_column_shard_should_be_one_read_per_row_covering_only_its_columns()
    {
        var plan = ImportPlanner.Plan(Whole("w", new long[] { 5, 8 }), new[] { Want(new long[] { 5, 8 }, new long[] { 0, 3 }, new long[] { 5, 2 }) }, StrictHandling.RaiseAll);

        Assert.Equal(5, plan.Reads.Count);
        for (var row = 0; row < 5; row++)
        {
            var read = plan.Reads[row];
            Assert.Equal((row * 8 + 3) * 4, read.RangeStart);
            Assert.Equal(2 * 4, read.RangeLength);
            Assert.Equal(new long[] { row, 3 }, read.Region.Offsets);
            Assert.Equal(new long[] { 1, 2 }, read.Region.Lengths);
        }
        Assert.Equal(5 * 2 * 4, plan.BytesToRead);
    }

    [Fact]
    public void A_shard_of_the_last_dim_of_a_3d_tensor_should_read_only_its_elements()
    {
        var shape = new long[] { 3, 4, 6 };
        var plan = ImportPlanner.Plan(Whole("w", shape), new[] { Want(shape, new long[] { 1, 0, 2 }, new long[] { 2, 4, 3 }) }, StrictHandling.RaiseAll);

        // One read of 3 elements (12 bytes) per (i, j) of rows 1..2 and all 4 columns of dim 1, at element (i·4 + j)·6 + 2.
        var starts = from i in new long[] { 1, 2 } from j in new long[] { 0, 1, 2, 3 } select ((i * 4 + j) * 6 + 2) * 4;
        Assert.Equal(starts, plan.Reads.Select(r => r.RangeStart).Order());
        Assert.All(plan.Reads, r => Assert.Equal(12, r.RangeLength));
        Assert.Equal(2 * 4 * 3 * 4, plan.BytesToRead);
    }

    [Fact]
    public void Contiguity_should_need_every_dimension_after_the_first_longer_than_one_whole()
    {
        var outer = TensorBox.Whole(new long[] { 4, 5, 6 });
        Assert.True(new TensorBox(new long[] { 1, 0, 0 }, new long[] { 2, 5, 6 }).IsContiguousIn(outer));
        Assert.True(new TensorBox(new long[] { 1, 2, 1 }, new long[] { 1, 1, 4 }).IsContiguousIn(outer));
        Assert.True(new TensorBox(new long[] { 1, 2, 0 }, new long[] { 1, 2, 6 }).IsContiguousIn(outer));
        Assert.False(new TensorBox(new long[] { 1, 2, 0 }, new long[] { 2, 2, 6 }).IsContiguousIn(outer));
        Assert.False(new TensorBox(new long[] { 0, 0, 1 }, new long[] { 1, 2, 5 }).IsContiguousIn(outer));
    }

    [Fact]
    public void A_shape_mismatch_should_fail_as_in_an_ordinary_load()
    {
        var e = Assert.Throws<LoadPlanException>(() =>
            ImportPlanner.Plan(Whole("w", new long[] { 5, 8 }), new[] { Want(new long[] { 8, 5 }, new long[] { 0, 0 }, new long[] { 8, 5 }) }, StrictHandling.RaiseAll));
        Assert.Contains("'w' has shape [5, 8]", e.Message);
    }
}
