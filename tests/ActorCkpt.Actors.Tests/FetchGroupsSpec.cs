namespace ActorCkpt.Actors.Tests;

/// <summary>Which reads through readers are fetched together.</summary>
public class FetchGroupsSpec
{
    /// <summary>A read of <paramref name="length"/> bytes of a whole float32 tensor stored in <paramref name="file"/>.</summary>
    private static ReadItem Read(string file, long length)
    {
        var box = TensorBox.Whole([length / 4]);
        var chunk = new StoredChunk(box, file, 0, new StoredBytes(file, 0, length, (int)Math.Min(length, 1 << 20), new ulong[(length + (1 << 20) - 1) / (1 << 20)]));
        return new ReadItem(0, file, DType.Float32, chunk, 0, length, box, box);
    }

    private static string NodeOf(ReadItem read) => read.Source.Bytes.File[..1];

    [Fact]
    public void Small_reads_should_go_together_per_node_in_plan_order_and_large_ones_alone()
    {
        // Files "a…" are on node a, "b…" on node b.
        var reads = new[] { Read("a1", 4096), Read("b1", 4096), Read("a2", 2 << 20), Read("a3", 8192), Read("b2", 4), Read("a4", 4096) };

        var groups = FetchGroups.Of(reads, NodeOf);

        Assert.Equal([[0, 3, 5], [1, 4], [2]], groups);
    }

    [Fact]
    public void A_group_should_end_at_its_byte_bound_or_its_range_bound()
    {
        var reads = Enumerable.Range(0, 7).Select(i => Read($"a{i}", 1000)).ToArray();

        Assert.Equal([[0, 1, 2], [3, 4, 5], [6]], FetchGroups.Of(reads, NodeOf, maxBytes: 3000));
        Assert.Equal([[0, 1], [2, 3], [4, 5], [6]], FetchGroups.Of(reads, NodeOf, maxRanges: 2));
    }

    [Fact]
    public void Every_read_should_be_in_exactly_one_group()
    {
        var random = new Random(7);
        var reads = Enumerable.Range(0, 500).Select(i => Read($"{(char)('a' + random.Next(4))}{i}", 4L * random.Next(1, 400_000))).ToArray();

        var groups = FetchGroups.Of(reads, NodeOf);

        Assert.Equal(Enumerable.Range(0, reads.Length), groups.SelectMany(g => g).Order());
        Assert.All(groups, g => Assert.Single(g.Select(i => NodeOf(reads[i])).Distinct()));
        Assert.All(groups.Where(g => g.Length > 1), g => Assert.InRange(g.Sum(i => reads[i].RangeLength), 0, FetchGroups.MaxBytes));
        Assert.Equal(groups.Select(g => g[0]), groups.Select(g => g[0]).Order());
    }
}
