using Akka.Actor;
using Akka.Event;
using Akka.Streams;
using Akka.Streams.Dsl;

namespace ActorCkpt;

/// <summary>
/// Loads through readers (<c>actorckpt.load.source = reader</c>): a byte range of a data file is
/// asked of the <see cref="ReaderActor"/> on the node that wrote the file, and arrives over the bulk
/// channel (fetched with the one-time token the reader answers with), or as a StreamRef of
/// checksummed chunks that a <see cref="ChunkAssembler"/> verifies and puts together.
/// </summary>
internal static class ReaderRangeFetch
{
    /// <summary>
    /// A <see cref="RangeFetcher"/> asking the readers named <paramref name="readerName"/> in
    /// <paramref name="system"/>'s cluster, waiting up to <paramref name="timeout"/> for each to answer;
    /// streams run on <paramref name="materializer"/>.
    /// </summary>
    /// <remarks>
    /// With <paramref name="tier"/> memory, the readers serve the copies their host holds in memory. A
    /// range that fails on the bulk channel is asked for again up to <paramref name="retries"/> times (see <see cref="Retried"/>).
    /// </remarks>
    public static RangeFetcher Through(ActorSystem system, IMaterializer materializer, string readerName, TimeSpan timeout, ActorCkptSettings settings,
        StorageTier tier = StorageTier.Disk, int retries = 0) =>
        async (node, step, file, offset, into, frameSize, frames) =>
        {
            var length = into.Length;
            var what = () => $"reader on {node}: '{file}' at {offset}+{length}";
            var reply = await Retried(system, settings, retries, what, async () =>
            {
                var reply = await AskAsync(system, node, readerName, new ReadRange(step, file, offset, length, frameSize, tier), timeout, () => $"'{file}' of step {step}");
                if (reply is ReadRangeOffered offered)
                    await FetchOfferedAsync(system, settings, offered, into, frames, timeout, what);
                return reply;
            });
            if (reply is ReadRangeOffered) return;
            if (reply is ReadRangeFailure { Damaged: true } damaged)
                throw new CheckpointFormatException(CheckpointLayout.InStep(step, file), $"reader on {node} could not serve it, it is missing or damaged there: {damaged.Cause}");
            if (reply is not ReadRangeStreamed streamed)
                throw new ActorCkptException($"reader on {node} could not serve '{file}': {(reply as ReadRangeFailure)?.Cause}");
            var assembler = new ChunkAssembler(node, file, into);
            await streamed.Source.Source.RunForeach(assembler.Add, materializer);
            assembler.Complete();
        };

    /// <summary>
    /// A <see cref="RangesFetcher"/> asking the readers named <paramref name="readerName"/> for
    /// several ranges at once (<see cref="ReadRanges"/>) and fetching them over the bulk channel as
    /// one transfer; waits up to <paramref name="timeout"/> for the answer and again for the bytes.
    /// A reader that refuses them together (its transfer path is stream-refs, or one range is bad) is
    /// asked for each through <paramref name="oneByOne"/>, as before ranges went together: a node
    /// configured otherwise still serves, and a bad range fails with its own reason. A transfer that
    /// fails on the bulk channel is asked for again up to <c>actorckpt.load.retries</c> times (see <see cref="Retried"/>).
    /// </summary>
    public static RangesFetcher Together(ActorSystem system, string readerName, TimeSpan timeout, ActorCkptSettings settings, RangeFetcher oneByOne) =>
        async (node, step, ranges, into, frames) =>
        {
            var what = () => $"reader on {node}: {ranges.Count} ranges of step {step} ({into.Length} bytes)";
            var reply = await Retried(system, settings, settings.LoadRetries, what, async () =>
            {
                var reply = await AskAsync(system, node, readerName, new ReadRanges(step, ranges), timeout, () => $"{ranges.Count} ranges of step {step}");
                if (reply is ReadRangeOffered offered)
                    await FetchOfferedAsync(system, settings, offered, into, frames, timeout, what);
                return reply;
            });
            if (reply is ReadRangeOffered) return;
            if (reply is not ReadRangeFailure)
                throw new ActorCkptException($"reader on {node} answered {ranges.Count} ranges of step {step} with {reply.GetType().Name}");
            var at = 0;
            foreach (var range in ranges)
            {
                var own = new List<CheckedFrame>();
                await oneByOne(node, step, range.File, range.Offset, into.Slice(at, checked((int)range.Length)), range.FrameSize, own);
                foreach (var frame in own) frames.Add(frame with { Position = frame.Position + at });
                at += (int)range.Length;
            }
        };

    /// <summary>
    /// Runs <paramref name="attempt"/> (an ask of a reader and the transfer it offers), again after a
    /// backoff (<see cref="ActorCkptSettings.BackoffFor"/>, as a write's) when it fails on the bulk
    /// channel: the connection dropped, a frame arrived corrupted, the token was refused, the reader
    /// could not send. Up to <paramref name="retries"/> times, each with a new token. A reader's
    /// refusal or silence is not retried: its answer would be the same, or as late.
    /// </summary>
    private static async Task<IActorCkptMessage> Retried(ActorSystem system, ActorCkptSettings settings, int retries, Func<string> what,
        Func<Task<IActorCkptMessage>> attempt)
    {
        for (var retry = 1; ; retry++)
        {
            try
            {
                return await attempt();
            }
            catch (BulkChannelException e) when (retry <= retries)
            {
                var backoff = settings.BackoffFor(retry);
                Logging.GetLogger(system, typeof(ReaderRangeFetch))
                    .Warning("{0} failed on the way ({1}): asked again in {2} ms (retry {3} of {4})", what(), e.Message, backoff.TotalMilliseconds, retry, retries);
                await Task.Delay(backoff);
            }
        }
    }

    /// <summary>
    /// Asks the reader on <paramref name="node"/> for <paramref name="what"/>. A node gone from the cluster
    /// (it left or died, or is down) cannot answer: that is said at once, naming it, instead of after
    /// <paramref name="timeout"/> (a save's write timeout, ten minutes by default).
    /// </summary>
    private static async Task<IActorCkptMessage> AskAsync(ActorSystem system, string node, string readerName, IActorCkptMessage request, TimeSpan timeout, Func<string> what)
    {
        var address = Address.Parse(node);
        if (system.IsClustered() && NotServing(Akka.Cluster.Cluster.Get(system).State, address) is { } why)
            throw new ActorCkptException($"reader on {node} cannot serve {what()}: that node {why}; with actorckpt.load.source = reader its files are read through it alone (bring it back, or load from a directory every node sees)");
        try
        {
            return await system.ActorSelection(new RootActorPath(address) / "user" / readerName).Ask<IActorCkptMessage>(request, timeout);
        }
        catch (AskTimeoutException)
        {
            throw new ActorCkptException($"reader on {node} did not answer within {timeout} for {what()}");
        }
    }

    /// <summary>
    /// Why a reader on <paramref name="node"/> can never answer, as the cluster's <paramref name="state"/>
    /// has it (gone, or on its way out); null otherwise. A member only unreachable for a moment (a busy
    /// network delays heartbeats) or still joining is asked as ever, within the timeout.
    /// </summary>
    internal static string? NotServing(Akka.Cluster.ClusterEvent.CurrentClusterState state, Address node)
    {
        var member = state.Members.FirstOrDefault(m => m.Address == node);
        if (member is null) return "is not in the cluster (it left or died)";
        return member.Status is Akka.Cluster.MemberStatus.Down or Akka.Cluster.MemberStatus.Exiting or Akka.Cluster.MemberStatus.Removed
            ? $"is {member.Status.ToString().ToLowerInvariant()} (leaving the cluster for good)"
            : null;
    }

    /// <summary>
    /// Fetches what a reader <paramref name="offered"/> over the bulk channel straight into the caller's
    /// memory, each frame checked where it landed; a reader too slow (nothing whole within
    /// <paramref name="timeout"/>) is a failed read naming <paramref name="what"/>, not the caller's cancellation.
    /// </summary>
    private static async Task FetchOfferedAsync(ActorSystem system, ActorCkptSettings settings, ReadRangeOffered offered, Memory<byte> into,
        ICollection<CheckedFrame> frames, TimeSpan timeout, Func<string> what)
    {
        using var giveUp = new CancellationTokenSource(timeout);
        // Kept apart until the bytes are whole: a failed try's frames would prove bytes the next one overwrites.
        var checkedHere = new List<CheckedFrame>();
        try
        {
            await BulkChannels.Get(system).For(settings).Client.FetchAsync(offered.Endpoint, offered.Token, into, giveUp.Token, checkedHere);
            foreach (var frame in checkedHere) frames.Add(frame);
        }
        catch (OperationCanceledException) when (giveUp.IsCancellationRequested)
        {
            throw new ActorCkptException($"{what()} did not arrive within {timeout}");
        }
    }
}
