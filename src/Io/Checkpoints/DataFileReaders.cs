using System.Collections.Concurrent;

namespace ActorCkpt;

/// <summary>
/// The data files one load reads, each opened on first use (by whichever thread needs it first)
/// and closed together at the end: a load that copies every range from other ranks opens none.
/// </summary>
internal sealed class DataFileReaders(Func<string, IBlobReader> open) : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<IBlobReader>> _readers = new(StringComparer.Ordinal);

    /// <summary>The reader of data file <paramref name="file"/>, opened now if it is not yet.</summary>
    public IBlobReader For(string file) => _readers.GetOrAdd(file, f => new Lazy<IBlobReader>(() => open(f))).Value;

    /// <summary>Closes every file opened.</summary>
    public void Dispose()
    {
        foreach (var r in _readers.Values) if (r.IsValueCreated) r.Value.Dispose();
    }
}
