using TorchSharp;
using static ActorCkpt.Cli.Tests.ToolRun;

namespace ActorCkpt.Cli.Tests;

/// <summary>
/// Beside a running job, retention may delete the step a reading command is reading. That is no
/// damage: the newest is read again, and a step asked for by number is refused saying it was
/// deleted meanwhile. The job here is a checkpointer started inside the read, which saves and
/// applies keep-last 1 before the read goes on.
/// </summary>
public sealed class ReaderRetentionRaceSpec : IDisposable
{
    private readonly TempDirectory _temp = new();

    private string Root => Path.Combine(_temp.Path, "root");

    public void Dispose() => _temp.Dispose();

    /// <summary>Saves <paramref name="step"/> and applies keep-last <paramref name="keep"/>, as a running job's planner would between two reads.</summary>
    private async Task SaveAndKeepLastAsync(long step, int keep = 1)
    {
        await using var job = Checkpointer.Start(Root, $"actorckpt.retention {{ keep-last = {keep}, grace-after-start = 0s }}\nakka.loglevel = WARNING");
        using var w = torch.ones(4);
        await job.SaveAsync(step, new RankState(0, 1).AddReplicated("w", w));
        await job.CollectGarbageAsync(TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task The_newest_deleted_while_it_is_read_should_give_way_to_the_newest_then()
    {
        Assert.Equal(0, (await RunAsync("demo", "--dir", Root, "--size-mb", "1", "--tensors", "4", "--ranks", "2", "--steps", "2")).Exit);
        var store = new CheckpointStore(new LocalBlobStore(Root));
        var reads = new List<long>();
        var notes = new List<string>();

        var read = ReaderSteps.ReadStep(store, Root, null, step: null, notes.Add, (_, step) =>
        {
            reads.Add(step);
            if (reads.Count == 1) SaveAndKeepLastAsync(3).GetAwaiter().GetResult();
            return store.ReadMetadata(step).Step;
        });

        Assert.Equal([2L, 3L], reads);
        Assert.Equal(3L, read);
        Assert.Empty(notes);
    }

    [Fact]
    public async Task Inspect_listing_while_retention_deletes_the_oldest_step_each_time_should_leave_it_out_not_fail()
    {
        Assert.Equal(0, (await RunAsync("demo", "--dir", Root, "--size-mb", "1", "--tensors", "4", "--ranks", "2", "--steps", "2")).Exit);
        var store = new CheckpointStore(new LocalBlobStore(Root));
        var next = 3L;

        // A job saving faster than the steps are checked: each list meets a deletion of its oldest step.
        // Before, the list was made again, met the next deletion, and the third time failed naming a missing file as damage.
        var (steps, checkedSteps, _) = InspectCommand.Listed(store, Root, null, all => SaveAndKeepLastAsync(next++, keep: all.Count).GetAwaiter().GetResult());

        Assert.Equal([2L], steps);
        Assert.Equal(2L, Assert.Single(checkedSteps).Step);
        Assert.Equal(4L, next);
    }

    [Fact]
    public async Task A_step_asked_for_and_deleted_while_it_is_read_should_be_refused_saying_so()
    {
        Assert.Equal(0, (await RunAsync("demo", "--dir", Root, "--size-mb", "1", "--tensors", "4", "--ranks", "2", "--steps", "2")).Exit);
        var store = new CheckpointStore(new LocalBlobStore(Root));

        // Before: "step 2 is not a committed checkpoint", or a data file missing, which reads as damage.
        var refused = Assert.Throws<ActorCkptException>(() => ReaderSteps.ReadStep(store, Root, null, step: 2, _ => { }, (_, step) =>
        {
            SaveAndKeepLastAsync(3).GetAwaiter().GetResult();
            return store.ReadMetadata(step);
        }));

        Assert.Matches(@"^step 2 was deleted \(.+\) while this command read it: pass --step a step that is kept, or none for the newest$", refused.Message);
    }
}
