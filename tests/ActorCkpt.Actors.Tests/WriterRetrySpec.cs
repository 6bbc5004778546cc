using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;

namespace ActorCkpt.Actors.Tests;

/// <summary>
/// A writer's retries wait out their backoff on timers (keyed by file and attempt): the retry
/// of a file still comes when the writer restarts again in the meantime, for another file's
/// failure, and a streamed file's retry asks its shard for the bytes again. One writer under its
/// pool, the pool registering it with the test actor; the log is at debug level, where the writer
/// says when it arms a retry.
/// </summary>
public sealed class WriterRetrySpec : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly string _root = Path.Combine(Path.GetTempPath(), "actorckpt-writer-" + Guid.NewGuid().ToString("N"));

    public WriterRetrySpec() : base(ActorCkptConfig.Parse("akka.loglevel = DEBUG\nakka.stdout-loglevel = WARNING")) =>
        Directory.CreateDirectory(Path.Combine(_root, CheckpointLayout.StepDirectory(1)));

    /// <summary>A pool of one writer over the root behind <paramref name="faults"/>, whose retries wait <paramref name="backoff"/>.</summary>
    private IActorRef StartWriter(FaultPolicy faults, TimeSpan backoff)
    {
        var settings = ActorCkptSettings.Create(Sys) with { WriterPoolSize = 1, BackoffMin = backoff, BackoffMax = backoff, MaxRetries = 3 };
        new CheckpointStore(new LocalBlobStore(_root)).RootId(); // a pool registers its writers once its root has an id
        Sys.ActorOf(WriterPoolActor.Props(new FaultInjectingBlobStore(new LocalBlobStore(_root), faults), settings, TestActor));
        return ExpectMsg<RegisterWriters>(Patience).Writers.Single();
    }

    private static Task Send(IActorRef writer, WriteFile request)
    {
        writer.Tell(request);
        return Task.CompletedTask;
    }

    private static FileWritePlan Plan(string file) => new(file, 0, 0, new[] { WriteItem.ForObject(file, 0, 0, ObjectScope.Global, 4) });

    [Fact]
    public void A_retry_that_fails_again_should_be_retried_again()
    {
        // The first two attempts fail; the second came from a timer.
        var writer = StartWriter(FaultPolicy.FailRange(1, 2), TimeSpan.FromMilliseconds(50));
        var id = Guid.NewGuid();

        writer.Tell(new WriteFile(1, id, Plan("a.safetensors"), new ReadOnlyMemory<byte>[] { new byte[] { 1, 2, 3, 4 } }, TestActor));

        var written = ExpectMsg<WriteFileSuccess>(Patience);
        Assert.Equal(("a.safetensors", 3), (written.Result.FileName, written.Attempts));
    }

    [Fact]
    public async Task A_retry_waiting_out_its_backoff_should_survive_a_restart_for_another_files_failure()
    {
        // Writes 1 and 2 fail; the backoff leaves the second failure ample time to come first.
        var writer = StartWriter(FaultPolicy.FailRange(1, 2), TimeSpan.FromSeconds(5));
        var id = Guid.NewGuid();
        var data = new ReadOnlyMemory<byte>[] { new byte[] { 1, 2, 3, 4 } };
        var aArmed = $"{id:N}/a.safetensors/2 armed";

        // a fails at once; the instance after the restart arms its retry.
        await EventFilter.Debug(contains: aArmed).ExpectOneAsync(Patience, () => Send(writer, new WriteFile(1, id, Plan("a.safetensors"), data, TestActor)));
        // b fails during a's backoff: the timers of the instance that armed it are cancelled, and the next instance arms a's retry again.
        await EventFilter.Debug(contains: aArmed).ExpectOneAsync(Patience, () => Send(writer, new WriteFile(1, id, Plan("b.safetensors"), data, TestActor)));

        var written = new[] { ExpectMsg<WriteFileSuccess>(Patience), ExpectMsg<WriteFileSuccess>(Patience) };
        Assert.Equal(new[] { ("a.safetensors", 2), ("b.safetensors", 2) },
            written.Select(w => (w.Result.FileName, w.Attempts)).OrderBy(w => w.FileName, StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_streamed_file_whose_attempt_fails_should_ask_its_shard_for_the_bytes_again_after_the_backoff()
    {
        var writer = StartWriter(FaultPolicy.FailRange(1, 0), TimeSpan.FromMilliseconds(50));
        var shard = CreateTestProbe();
        var id = Guid.NewGuid();

        writer.Tell(new WriteFileStreamed(1, id, Plan("a.safetensors"), shard.Ref, Attempt: 2));
        var asked = shard.ExpectMsg<StreamFile>(Patience);
        // A chunk whose checksum does not match its bytes: the attempt fails.
        var corrupt = await Source.Single(new TransferChunk(0, 0, new byte[] { 1, 2, 3, 4 }, 0))
            .RunWith(StreamRefs.SourceRef<TransferChunk>(), Sys.Materializer());
        shard.Reply(new StreamFileSuccess(corrupt));

        var resend = shard.ExpectMsg<ResendWrite>(Patience);
        Assert.Equal((1L, id, "a.safetensors", 3), (resend.Step, resend.SaveId, resend.File, resend.Attempt));
        Assert.Equal(writer, resend.Writer);
        Assert.Equal(writer, asked.Writer);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) ScratchDirectory.Delete(_root);
    }
}
