namespace ActorCkpt.Planner.Tests;

/// <summary><see cref="WriteAssigner.Reassign"/>: a lost writer's file goes to the least loaded eligible survivor.</summary>
public class WriteAssignerReassignSpec
{
    private static FileWritePlan File(string name, int rank, int writer, string node, long bytes) =>
        new(name, rank, writer, new[] { WriteItem.ForObject(name, rank, 0, ObjectScope.Rank, bytes) }, node);

    // Writers 0 and 1 on node A, 2 and 3 on node B; writer 0 is lost with file f0.
    private static readonly string[] Nodes = { "A", "A", "B", "B" };
    private static readonly FileWritePlan[] Files =
    {
        File("f0", 0, 0, "A", 100), File("f1", 0, 1, "A", 300), File("f2", 1, 2, "B", 50), File("f3", 1, 3, "B", 200),
    };

    [Fact]
    public void Local_placement_should_keep_the_file_on_its_rank_s_node_while_a_writer_is_left_there()
    {
        Assert.Equal(Files[0] with { WriterIndex = 1 }, WriteAssigner.Reassign(Files, 0, Nodes, new[] { 1, 2, 3 }, "A", Placement.Local));
    }

    [Fact]
    public void Local_placement_should_fall_back_to_any_survivor_when_its_node_has_none()
    {
        Assert.Equal(Files[0] with { WriterIndex = 2, WriterNode = "B" }, WriteAssigner.Reassign(Files, 0, Nodes, new[] { 3, 2 }, "A", Placement.Local));
    }

    [Fact]
    public void Spread_placement_should_pick_the_least_loaded_survivor_and_the_first_listed_on_a_tie()
    {
        Assert.Equal(Files[0] with { WriterIndex = 2, WriterNode = "B" }, WriteAssigner.Reassign(Files, 0, Nodes, new[] { 1, 3, 2 }, "A", Placement.Spread));
        var even = new[] { Files[0], File("f1", 0, 1, "A", 50), Files[2] };
        Assert.Equal(1, WriteAssigner.Reassign(even, 0, Nodes, new[] { 1, 2 }, "A", Placement.Spread)!.WriterIndex);
        Assert.Equal(2, WriteAssigner.Reassign(even, 0, Nodes, new[] { 2, 1 }, "A", Placement.Spread)!.WriterIndex);
    }

    [Fact]
    public void No_survivor_should_give_no_writer()
    {
        Assert.Null(WriteAssigner.Reassign(Files, 0, Nodes, Array.Empty<int>(), "A", Placement.Local));
    }
}
