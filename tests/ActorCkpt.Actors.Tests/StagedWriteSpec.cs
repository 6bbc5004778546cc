using Akka.Actor;

namespace ActorCkpt.Actors.Tests;

/// <summary>
/// A writer handed a file while its rank's state is still being copied into staging buffers
/// (<see cref="WriteFile.Staging"/>): it writes each item once the copy has reached it, and gives
/// the file up at once, without retries, when the copy failed before an item it needs.
/// </summary>
public sealed class StagedWriteSpec : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly string _root = Path.Combine(Path.GetTempPath(), "actorckpt-staged-write-" + Guid.NewGuid().ToString("N"));

    public StagedWriteSpec() : base(ActorCkptConfig.Parse("akka.loglevel = WARNING")) =>
        Directory.CreateDirectory(Path.Combine(_root, CheckpointLayout.StepDirectory(1)));

    private IActorRef StartWriter()
    {
        var settings = ActorCkptSettings.Create(Sys) with { WriterPoolSize = 1, BackoffMin = TimeSpan.FromMilliseconds(10), BackoffMax = TimeSpan.FromMilliseconds(10), MaxRetries = 3 };
        new CheckpointStore(new LocalBlobStore(_root)).RootId(); // a pool registers its writers once its root has an id
        Sys.ActorOf(WriterPoolActor.Props(new LocalBlobStore(_root), settings, TestActor));
        return ExpectMsg<RegisterWriters>(Patience).Writers.Single();
    }

    /// <summary>A file of two entries: items 0 and 1 of rank 0, <paramref name="length"/> bytes each.</summary>
    private static FileWritePlan Plan(int length) => new("f.safetensors", 0, 0, new[]
    {
        WriteItem.ForObject("first", 0, 0, ObjectScope.Global, length),
        WriteItem.ForObject("second", 0, 1, ObjectScope.Global, length),
    });

    [Fact]
    public void A_copy_that_fails_before_an_item_should_fail_its_file_at_once_naming_the_item()
    {
        var writer = StartWriter();
        var progress = new StagingProgress();
        var data = new ReadOnlyMemory<byte>[] { new byte[] { 1, 2, 3, 4 }, new byte[4] };

        // Item 0 is staged; the copy then fails before item 1.
        progress.Advance(1);
        writer.Tell(new WriteFile(1, Guid.NewGuid(), Plan(4), data, TestActor, Staging: progress));
        progress.Fail(new InvalidOperationException("tensor 'second' was disposed"));

        var failure = ExpectMsg<WriteFileFailure>(Patience);
        Assert.Equal(1, failure.Attempts);
        Assert.Equal("StagingFailedException: item 1 was never staged: the copy into staging buffers failed (tensor 'second' was disposed)", failure.Cause);
    }

    [Fact]
    public void A_file_whose_items_are_staged_while_it_waits_should_hold_the_staged_bytes()
    {
        var writer = StartWriter();
        var progress = new StagingProgress();
        var first = new byte[1 << 20];
        var second = new byte[1 << 20];
        var data = new ReadOnlyMemory<byte>[] { first, second };
        writer.Tell(new WriteFile(1, Guid.NewGuid(), Plan(1 << 20), data, TestActor, Staging: progress));

        // The copy fills each buffer, then says so: the writer reads none before.
        new Random(1).NextBytes(first);
        progress.Advance(1);
        new Random(2).NextBytes(second);
        progress.Complete();

        var written = ExpectMsg<WriteFileSuccess>(Patience).Result;
        var file = File.ReadAllBytes(Path.Combine(_root, CheckpointLayout.StepDirectory(1), "f.safetensors"));
        for (var i = 0; i < 2; i++)
        {
            var stored = written.Items[i].Bytes;
            var bytes = file.AsSpan((int)stored.Offset, (int)stored.Length);
            Assert.True(bytes.SequenceEqual(data[i].Span), $"item {i} differs from the staged bytes");
            Assert.Equal(BlockChecksums.Compute(bytes, stored.BlockSize), stored.BlockChecksums);
        }
    }

    /// <inheritdoc />
    protected override void AfterAll()
    {
        base.AfterAll();
        ScratchDirectory.Delete(_root);
    }
}
