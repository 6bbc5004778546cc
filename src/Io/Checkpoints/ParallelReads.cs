using System.Collections.Concurrent;

namespace ActorCkpt;

/// <summary>
/// Runs the reads of a load plan in parallel, each data file opened once (on first use) and closed
/// at the end. The first failure is rethrown as itself, not wrapped.
/// </summary>
internal static class ParallelReads
{
    /// <summary>
    /// Calls <paramref name="read"/> for every item of <paramref name="reads"/>, <paramref name="parallelism"/>
    /// at a time, with the reader <paramref name="open"/> gave for the item's file. A cancelled
    /// <paramref name="cancellation"/> starts no more reads and throws once the reads under way are done.
    /// </summary>
    public static void ForEach(IEnumerable<ReadItem> reads, Func<string, IBlobReader> open, int parallelism, Action<ReadItem, IBlobReader> read,
        CancellationToken cancellation = default)
    {
        var readers = new ConcurrentDictionary<string, Lazy<IBlobReader>>(StringComparer.Ordinal);
        try
        {
            Parallel.ForEach(reads, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallelism), CancellationToken = cancellation }, item =>
                read(item, readers.GetOrAdd(item.Source.Bytes.File, f => new Lazy<IBlobReader>(() => open(f))).Value));
        }
        catch (AggregateException e) when (e.InnerExceptions.Count >= 1)
        {
            throw e.InnerExceptions[0];
        }
        finally
        {
            foreach (var r in readers.Values) if (r.IsValueCreated) r.Value.Dispose();
        }
    }
}
