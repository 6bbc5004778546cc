using System.Runtime.ExceptionServices;

namespace ActorCkpt;

/// <summary>
/// Carries out a rank's reads with the other loads of its node (<see cref="SharedReadSession"/>):
/// a first pass reads what no rank has claimed yet and copies what another rank has published,
/// skipping the ranges another rank is reading at that moment; a second pass waits for those
/// and copies them (or reads them itself when their reader gave up on them). Reads may go in
/// groups that are read together (one fetch for many small ranges from one node).
/// </summary>
internal static class SharedPlanReads
{
    /// <summary>
    /// Fills <paramref name="destination"/> with every read of <paramref name="reads"/>,
    /// <paramref name="parallelism"/> at a time; <paramref name="readOwn"/> reads and verifies one
    /// into its window (throwing <see cref="ChecksumMismatchException"/> on a mismatch). Without a
    /// <paramref name="session"/> every read is the rank's own. <paramref name="progress"/> hears the
    /// destination bytes each read filled. A cancelled <paramref name="cancellation"/> starts no more
    /// reads and throws once those under way are done. The caller leaves the session afterwards.
    /// </summary>
    public static Task ReadAsync(IReadOnlyList<ReadItem> reads, SharedReadSession? session, DestinationProvider destination,
        Func<ReadItem, ValueTask> readOwn, int parallelism, IProgress<long>? progress, CancellationToken cancellation) =>
        ReadGroupsAsync(reads, Enumerable.Range(0, reads.Count).Select(i => new[] { i }).ToArray(), session, destination, OneByOne(readOwn),
            parallelism, progress, cancellation);

    /// <summary>A group reader that reads each of its reads on its own with <paramref name="readOwn"/>, one after another.</summary>
    public static Func<IReadOnlyList<ReadItem>, ValueTask<Exception?[]>> OneByOne(Func<ReadItem, ValueTask> readOwn) => async group =>
    {
        var failures = new Exception?[group.Count];
        for (var i = 0; i < group.Count; i++)
        {
            try
            {
                await readOwn(group[i]).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                failures[i] = e;
            }
        }
        return failures;
    };

    /// <summary>
    /// As <see cref="ReadAsync"/>, with the reads in <paramref name="groups"/> (indices into
    /// <paramref name="reads"/>, each read in one group), <paramref name="parallelism"/> groups at a
    /// time: of each group, the reads that are the rank's own go to <paramref name="readGroup"/>
    /// together, which reads and verifies each into its window and answers each read's failure
    /// (null: read). A read's failure fails its range alone; the load throws the first.
    /// </summary>
    public static async Task ReadGroupsAsync(IReadOnlyList<ReadItem> reads, IReadOnlyList<int[]> groups, SharedReadSession? session,
        DestinationProvider destination, Func<IReadOnlyList<ReadItem>, ValueTask<Exception?[]>> readGroup, int parallelism,
        IProgress<long>? progress, CancellationToken cancellation)
    {
        var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallelism), CancellationToken = cancellation };
        session?.Declare(reads);
        var deferred = new (ReadItem Read, SharedRange Range)?[reads.Count];
        await Parallel.ForEachAsync(groups, options, async (group, _) =>
        {
            var own = new List<(ReadItem Read, SharedRange? Range)>(group.Length);
            try
            {
                foreach (var i in group)
                {
                    var claim = session?.Claim(reads[i]) ?? new SharedClaim(SharedClaim.Kind.Read, null);
                    if (claim.Action == SharedClaim.Kind.Wait) deferred[i] = (reads[i], claim.Range!);
                    else if (claim.Action == SharedClaim.Kind.Read) own.Add((reads[i], claim.Range));
                    else await CarryAsync(session!, claim, reads[i], destination, null, progress).ConfigureAwait(false);
                }
            }
            catch (Exception e)
            {
                // A copy failed or a range is corrupt: the ranges claimed for this group are not
                // read, and the others read them themselves (not marked corrupt: they may be sound).
                var notRead = new ActorCkptException("the load failed before reading this range", e);
                foreach (var (_, range) in own)
                    if (range is not null) session!.Fail(range, notRead);
                throw;
            }
            if (own.Count == 0) return;
            var failures = await ReadOwnAsync(readGroup, own.Select(o => o.Read).ToArray()).ConfigureAwait(false);
            Exception? first = null;
            for (var k = 0; k < own.Count; k++)
            {
                var (read, range) = own[k];
                if (failures[k] is { } failure)
                {
                    if (range is not null) session!.Fail(range, failure);
                    first ??= failure;
                    continue;
                }
                if (range is not null) session!.Publish(range, read, destination);
                progress?.Report(read.DestinationBytes);
            }
            if (first is not null) ExceptionDispatchInfo.Throw(first);
        }).ConfigureAwait(false);

        await Parallel.ForEachAsync(deferred.Where(d => d is not null).Select(d => d!.Value), options, async (item, token) =>
        {
            var (read, range) = item;
            while (true)
            {
                await session!.WaitAsync(range, token).ConfigureAwait(false);
                var claim = session.Claim(read);
                if (claim.Action != SharedClaim.Kind.Wait)
                {
                    await CarryAsync(session, claim, read, destination, readGroup, progress).ConfigureAwait(false);
                    return;
                }
                range = claim.Range!;
            }
        }).ConfigureAwait(false);
        // Every read may have started before the cancellation: the load still stops here.
        cancellation.ThrowIfCancellationRequested();
    }

    /// <summary>The failure of each of <paramref name="own"/>; a group reader that throws fails them all.</summary>
    private static async ValueTask<Exception?[]> ReadOwnAsync(Func<IReadOnlyList<ReadItem>, ValueTask<Exception?[]>> readGroup, ReadItem[] own)
    {
        try
        {
            var failures = await readGroup(own).ConfigureAwait(false);
            if (failures.Length != own.Length)
                throw new InvalidOperationException($"a group reader answered {failures.Length} outcomes for {own.Length} reads");
            return failures;
        }
        catch (Exception e)
        {
            return Enumerable.Repeat<Exception?>(e, own.Length).ToArray();
        }
    }

    private static async ValueTask CarryAsync(SharedReadSession session, SharedClaim claim, ReadItem read, DestinationProvider destination,
        Func<IReadOnlyList<ReadItem>, ValueTask<Exception?[]>>? readGroup, IProgress<long>? progress)
    {
        var range = claim.Range;
        switch (claim.Action)
        {
            case SharedClaim.Kind.Copy:
                try
                {
                    SharedReadSession.CopyFrom(range!, read, destination);
                }
                finally
                {
                    session.Unpin(range!);
                }
                break;
            case SharedClaim.Kind.Corrupt:
                // The same error as the rank that read it: this rank's own exception, with this read's offset.
                var m = range!.Mismatch!;
                throw new ChecksumMismatchException(m.File, m.Key, m.Block, read.Source.Bytes.Offset + (long)m.Block * read.Source.Bytes.BlockSize);
            default:
                var failure = (await ReadOwnAsync(readGroup!, [read]).ConfigureAwait(false))[0];
                if (failure is not null)
                {
                    if (range is not null) session.Fail(range, failure);
                    ExceptionDispatchInfo.Throw(failure);
                }
                if (range is not null) session.Publish(range, read, destination);
                break;
        }
        progress?.Report(read.DestinationBytes);
    }
}
