namespace ActorCkpt.Actors.Tests;

/// <summary>The background persist of a memory step, as a pure job: who writes each file, and what happens when a holder fails.</summary>
public class PersistJobSpec
{
    private static readonly FileWritePlan A = new("a.safetensors", 0, 0, Array.Empty<WriteItem>()), B = new("b.safetensors", 1, 0, Array.Empty<WriteItem>());

    private static PersistJob Job() => new(7, Guid.NewGuid(), new GlobalSavePlan(2, new[] { A, B }, new Dictionary<string, TensorDescriptor>()),
        new[] { new FileWriteResult(A.FileName, 10, Array.Empty<WrittenItem>()), new FileWriteResult(B.FileName, 20, Array.Empty<WrittenItem>()) },
        new Dictionary<string, IReadOnlyList<string>> { [A.FileName] = ["h0", "h1"], [B.FileName] = ["h1", "h2"] });

    [Fact]
    public void Each_file_should_go_to_its_first_live_holder_and_the_job_end_with_the_last_file()
    {
        var job = Job();
        var (sends, problem) = job.Start(_ => true);
        Assert.Null(problem);
        Assert.Equal([(A.FileName, "h0"), (B.FileName, "h1")], sends.Select(s => (s.File.FileName, s.Host)));
        Assert.Equal([10L, 20L], sends.Select(s => s.Expected.Length));
        Assert.False(job.Succeeded(A.FileName));
        Assert.False(job.Succeeded(A.FileName));
        Assert.True(job.Succeeded(B.FileName));
        Assert.True(job.Done);
    }

    [Fact]
    public void A_failed_holder_should_hand_the_file_to_the_next_live_one_and_none_left_should_end_it()
    {
        var job = Job();
        var (sends, _) = job.Start(h => h != "h1");
        Assert.Equal([(A.FileName, "h0"), (B.FileName, "h2")], sends.Select(s => (s.File.FileName, s.Host)));
        Assert.Null(job.Failed(B.FileName, _ => true));
        Assert.Equal("h1", job.Failed(A.FileName, _ => true)?.Host);
        Assert.Null(job.Failed(A.FileName, _ => true));
    }

    [Fact]
    public void A_file_sent_again_should_go_to_the_same_host_while_pending_and_nowhere_once_written()
    {
        var job = Job();
        job.Start(_ => true);
        var again = job.Again(A.FileName);
        Assert.Equal((A.FileName, "h0", 10L), (again?.File.FileName, again?.Host, again?.Expected.Length));
        Assert.Equal([A.FileName], job.PendingOn("h0"));
        Assert.False(job.Succeeded(A.FileName, host: "h0"));
        Assert.Null(job.Again(A.FileName));
        Assert.Null(job.Again("c.safetensors"));
    }

    [Fact]
    public void A_file_with_no_live_holder_should_keep_the_job_from_starting()
    {
        var (sends, problem) = Job().Start(h => h == "h0");
        Assert.Empty(sends);
        Assert.Equal("'b.safetensors' has no live holder to write it from", problem);
    }
}
