namespace ActorCkpt;

/// <summary>
/// Carries out a rank's reads with the other loads of its node (<see cref="SharedReadSession"/>):
/// a first pass reads what no rank has claimed yet and copies what another rank has published,
/// skipping the ranges another rank is reading at that moment; a second pass waits for those
/// and copies them (or reads them itself when their reader gave up on them).
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
    public static async Task ReadAsync(IReadOnlyList<ReadItem> reads, SharedReadSession? session, DestinationProvider destination,
        Func<ReadItem, ValueTask> readOwn, int parallelism, IProgress<long>? progress, CancellationToken cancellation)
    {
        var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallelism), CancellationToken = cancellation };
        if (session is null)
        {
            await Parallel.ForEachAsync(reads, options, async (read, _) =>
            {
                await readOwn(read).ConfigureAwait(false);
                progress?.Report(read.DestinationBytes);
            }).ConfigureAwait(false);
            return;
        }

        session.Declare(reads);
        var deferred = new (ReadItem Read, SharedRange Range)?[reads.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, reads.Count), options, async (i, _) =>
        {
            var claim = session.Claim(reads[i]);
            if (claim.Action == SharedClaim.Kind.Wait) deferred[i] = (reads[i], claim.Range!);
            else await CarryAsync(session, claim, reads[i], destination, readOwn, progress).ConfigureAwait(false);
        }).ConfigureAwait(false);

        await Parallel.ForEachAsync(deferred.Where(d => d is not null).Select(d => d!.Value), options, async (item, token) =>
        {
            var (read, range) = item;
            while (true)
            {
                await session.WaitAsync(range, token).ConfigureAwait(false);
                var claim = session.Claim(read);
                if (claim.Action != SharedClaim.Kind.Wait)
                {
                    await CarryAsync(session, claim, read, destination, readOwn, progress).ConfigureAwait(false);
                    return;
                }
                range = claim.Range!;
            }
        }).ConfigureAwait(false);
        // Every read may have started before the cancellation: the load still stops here.
        cancellation.ThrowIfCancellationRequested();
    }

    private static async ValueTask CarryAsync(SharedReadSession session, SharedClaim claim, ReadItem read, DestinationProvider destination,
        Func<ReadItem, ValueTask> readOwn, IProgress<long>? progress)
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
                try
                {
                    await readOwn(read).ConfigureAwait(false);
                }
                catch (Exception e) when (range is not null)
                {
                    session.Fail(range, e);
                    throw;
                }
                if (range is not null) session.Publish(range, read, destination);
                break;
        }
        progress?.Report(read.DestinationBytes);
    }
}
