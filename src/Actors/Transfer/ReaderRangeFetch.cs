using Akka.Actor;
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
    /// <remarks>With <paramref name="tier"/> memory, the readers serve the copies their host holds in memory.</remarks>
    public static RangeFetcher Through(ActorSystem system, IMaterializer materializer, string readerName, TimeSpan timeout, ActorCkptSettings settings,
        StorageTier tier = StorageTier.Disk) =>
        async (node, step, file, offset, into, frameSize, frames) =>
        {
            var length = into.Length;
            var reader = system.ActorSelection(new RootActorPath(Address.Parse(node)) / "user" / readerName);
            var reply = await reader.Ask<IActorCkptMessage>(new ReadRange(step, file, offset, length, frameSize, tier), timeout);
            if (reply is ReadRangeOffered offered)
            {
                await FetchOfferedAsync(system, settings, offered, into, frames, timeout, () => $"reader on {node}: '{file}' at {offset}+{length}");
                return;
            }
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
    /// configured otherwise still serves, and a bad range fails with its own reason.
    /// </summary>
    public static RangesFetcher Together(ActorSystem system, string readerName, TimeSpan timeout, ActorCkptSettings settings, RangeFetcher oneByOne) =>
        async (node, step, ranges, into, frames) =>
        {
            var reader = system.ActorSelection(new RootActorPath(Address.Parse(node)) / "user" / readerName);
            var reply = await reader.Ask<IActorCkptMessage>(new ReadRanges(step, ranges), timeout);
            if (reply is ReadRangeOffered offered)
            {
                await FetchOfferedAsync(system, settings, offered, into, frames, timeout, () => $"reader on {node}: {ranges.Count} ranges of step {step} ({into.Length} bytes)");
                return;
            }
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
    /// Fetches what a reader <paramref name="offered"/> over the bulk channel straight into the caller's
    /// memory, each frame checked where it landed; a reader too slow (nothing whole within
    /// <paramref name="timeout"/>) is a failed read naming <paramref name="what"/>, not the caller's cancellation.
    /// </summary>
    private static async Task FetchOfferedAsync(ActorSystem system, ActorCkptSettings settings, ReadRangeOffered offered, Memory<byte> into,
        ICollection<CheckedFrame> frames, TimeSpan timeout, Func<string> what)
    {
        using var giveUp = new CancellationTokenSource(timeout);
        try
        {
            await BulkChannels.Get(system).For(settings).Client.FetchAsync(offered.Endpoint, offered.Token, into, giveUp.Token, frames);
        }
        catch (OperationCanceledException) when (giveUp.IsCancellationRequested)
        {
            throw new ActorCkptException($"{what()} did not arrive within {timeout}");
        }
    }
}
