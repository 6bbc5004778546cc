using static ActorCkpt.Planner.Tests.PlanBuilders;

namespace ActorCkpt.Planner.Tests;

public class WriteAssignerSpec
{
    private static LocalSavePlan[] Sharded(int world, int tensors) =>
        Enumerable.Range(0, world).Select(r =>
            Plan(r, world, Enumerable.Range(0, tensors).Select(i => Rows($"w{i}", r, i, world, 64 * (i + 1), 32)).ToArray())).ToArray();

    [Fact]
    public void Each_file_should_hold_items_of_one_rank_in_staging_order()
    {
        var files = WriteAssigner.Assign(Sharded(3, 8), Writers(4), NoNodes, Placement.Local, 2, "t");

        Assert.Equal(6, files.Count);
        Assert.All(files, f =>
        {
            Assert.All(f.Items, i => Assert.Equal(f.Rank, i.Rank));
            Assert.Equal(f.Items.Select(i => i.Index).Order(), f.Items.Select(i => i.Index));
        });
        Assert.Equal(3 * 8, files.Sum(f => f.Items.Count));
    }

    [Fact]
    public void Auto_files_per_rank_should_keep_every_writer_busy()
    {
        var files = WriteAssigner.Assign(Sharded(2, 8), Writers(4), NoNodes, Placement.Local, 0, "t");

        Assert.Equal(4, files.Count);
        Assert.Equal(new[] { 0, 1, 2, 3 }, files.Select(f => f.WriterIndex).Order());
    }

    [Fact]
    public void Files_of_a_rank_should_be_balanced_by_bytes()
    {
        var plan = Plan(0, 1, Enumerable.Range(0, 8).Select(i => Whole($"w{i}", 0, i, 10, 10)).ToArray());

        var files = WriteAssigner.Assign(new[] { plan }, Writers(4), NoNodes, Placement.Local, 4, "t");

        // Eight items of 400 bytes in four files: 800 bytes each.
        Assert.Equal(new long[] { 800, 800, 800, 800 }, files.Select(f => f.DataBytes));
    }

    [Fact]
    public void Writers_should_be_balanced_by_bytes()
    {
        // One file per rank, of 4, 3, 2 and 1 KiB, over two writers. Largest first onto the least
        // loaded gives each writer 5 KiB (4 + 1, 3 + 2); spreading by count would give 4 + 2 and 3 + 1.
        var plans = new[] { 4, 3, 2, 1 }.Select((kib, r) => Plan(r, 4, Whole($"w{r}", r, 0, kib * 256))).ToArray();

        var files = WriteAssigner.Assign(plans, Writers(2), NoNodes, Placement.Local, 1, "t");

        Assert.Equal(new[] { 0, 1, 1, 0 }, files.OrderBy(f => f.Rank).Select(f => f.WriterIndex));
        Assert.Equal(new long[] { 5 << 10, 5 << 10 }, files.GroupBy(f => f.WriterIndex).OrderBy(g => g.Key).Select(g => g.Sum(f => f.DataBytes)));
    }

    [Fact]
    public void File_names_should_name_rank_and_number()
    {
        Assert.Equal("r00003-001-ab12cd34.safetensors", WriteAssigner.FileName(3, 1, "ab12cd34"));
    }

    [Fact]
    public void A_rank_with_nothing_to_write_gets_no_file()
    {
        var files = WriteAssigner.Assign(new[] { Plan(0, 2, Whole("w", 0, 0, 4)), Plan(1, 2) }, Writers(2), NoNodes, Placement.Local, 0, "t");

        Assert.Single(files);
        Assert.Equal(0, files[0].Rank);
    }

    private static readonly string[] TwoNodes = { "A", "A", "B", "B" };

    [Fact]
    public void Local_placement_should_keep_a_ranks_files_on_its_own_nodes_writers()
    {
        var ranks = new Dictionary<int, string> { [0] = "A", [1] = "B", [2] = "B" };

        var files = WriteAssigner.Assign(Sharded(3, 8), TwoNodes, ranks, Placement.Local, 0, "t");

        Assert.All(files, f => Assert.Equal(ranks[f.Rank], f.WriterNode));
        Assert.Equal(new[] { 0, 1 }, files.Where(f => f.Rank == 0).Select(f => f.WriterIndex).Order());
    }

    [Fact]
    public void Spread_placement_should_balance_bytes_over_every_node()
    {
        var ranks = new Dictionary<int, string> { [0] = "A", [1] = "A" };

        var files = WriteAssigner.Assign(Sharded(2, 16), TwoNodes, ranks, Placement.Spread, 0, "t");

        // Each rank's 16 items (4 KiB, 8 KiB, ... 64 KiB) make two files of 68 × 4 KiB; the four
        // files go one to each writer, two on each node.
        Assert.Equal(new[] { 0, 1, 2, 3 }, files.Select(f => f.WriterIndex).Order());
        Assert.Equal(new[] { ("A", 136L * 4096), ("B", 136L * 4096) },
            files.GroupBy(f => f.WriterNode).OrderBy(g => g.Key).Select(g => (g.Key, g.Sum(f => f.DataBytes))));
    }

    [Fact]
    public void Local_placement_should_fall_back_to_every_writer_for_a_node_without_writers()
    {
        var files = WriteAssigner.Assign(Sharded(1, 4), TwoNodes, new Dictionary<int, string> { [0] = "C" }, Placement.Local, 0, "t");

        // Rank 0's node "C" has no writer: its four files go to all four writers, on both nodes.
        Assert.Equal(new[] { 0, 1, 2, 3 }, files.Select(f => f.WriterIndex).Order());
        Assert.Equal(new[] { "A", "A", "B", "B" }, files.Select(f => f.WriterNode).Order());
    }
}
