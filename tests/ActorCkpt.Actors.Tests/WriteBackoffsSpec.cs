using System.Diagnostics;
using Akka.Actor;

namespace ActorCkpt.Actors.Tests;

/// <summary>A writer's backoff bookkeeping, driven call by call: no actor system.</summary>
public class WriteBackoffsSpec
{
    private static readonly ActorCkptSettings Settings = new() { BackoffMin = TimeSpan.FromMilliseconds(100), BackoffMax = TimeSpan.FromSeconds(1) };
    private static readonly Guid SaveId = Guid.NewGuid();

    private static FileWritePlan Plan(string file) => new(file, 0, 0, new[] { WriteItem.ForObject(file, 0, 0, ObjectScope.Global, 4) });

    [Fact]
    public void A_failed_local_write_should_be_retried_by_the_writer_with_the_next_attempt_after_its_backoff()
    {
        var failed = new WriteFile(3, SaveId, Plan("a.safetensors"), new ReadOnlyMemory<byte>[] { new byte[4] }, ActorRefs.Nobody, Attempt: 2);

        var retry = new WriteBackoffs(Settings).RetryOf(failed, ActorRefs.Nobody)!;

        Assert.Equal(failed with { Attempt = 3 }, retry.Retry);
        Assert.Equal(WriteBackoffs.Key(SaveId, "a.safetensors", 3), retry.Key);
        Assert.Equal(TimeSpan.FromMilliseconds(200), retry.Backoff);
    }

    [Fact]
    public void A_failed_streamed_write_should_ask_its_shard_for_the_bytes_again_with_the_next_attempt()
    {
        var shard = new FakeRef("shard");
        var writer = new FakeRef("writer");
        var failed = new WriteFileStreamed(3, SaveId, Plan("a.safetensors"), shard, Attempt: 1);

        var retry = new WriteBackoffs(Settings).RetryOf(failed, writer)!;

        var due = Assert.IsType<ResendDue>(retry.Retry);
        Assert.Same(shard, due.Shard);
        Assert.Equal(new ResendWrite(3, SaveId, "a.safetensors", writer, 2), due.Resend);
        Assert.Equal(retry.Key, due.Key);
        Assert.Equal(WriteBackoffs.Key(SaveId, "a.safetensors", 2), retry.Key);
        Assert.Equal(TimeSpan.FromMilliseconds(100), retry.Backoff);
    }

    [Fact]
    public void Anything_but_a_write_should_have_no_retry()
    {
        Assert.Null(new WriteBackoffs(Settings).RetryOf(new ListWriters(), ActorRefs.Nobody));
        Assert.Null(new WriteBackoffs(Settings).RetryOf(null, ActorRefs.Nobody));
    }

    [Fact]
    public void Armed_backoffs_should_be_those_not_yet_over_each_with_what_remains_of_it()
    {
        var backoffs = new WriteBackoffs(Settings);
        var fresh = new RetryBackoff("a/2", "retry a", Stopwatch.GetTimestamp(), TimeSpan.FromHours(1));
        var spent = new RetryBackoff("b/2", "retry b", Stopwatch.GetTimestamp() - Stopwatch.Frequency * 7200, TimeSpan.FromHours(1));
        var other = new RetryBackoff("c/3", "retry c", Stopwatch.GetTimestamp(), TimeSpan.FromHours(1));

        var remaining = backoffs.Arm(fresh);
        Assert.InRange(remaining, TimeSpan.FromMinutes(59), TimeSpan.FromHours(1));
        // Armed again by a later incarnation after its time: due at once.
        Assert.Equal(TimeSpan.Zero, backoffs.Arm(spent));
        backoffs.Arm(other);
        backoffs.Over("b/2");
        backoffs.Over("never-armed");

        Assert.Equal(new[] { fresh, other }, backoffs.Armed.OrderBy(b => b.Key, StringComparer.Ordinal));
    }

    /// <summary>An actor reference told apart by name, for a spec that sends nothing.</summary>
    private sealed class FakeRef(string name) : MinimalActorRef
    {
        public override ActorPath Path { get; } = new RootActorPath(Address.AllSystems) / name;

        public override IActorRefProvider Provider => throw new NotSupportedException();
    }
}
