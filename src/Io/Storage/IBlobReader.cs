namespace ActorCkpt;

/// <summary>A file opened for positional reads; safe for concurrent reads of different ranges.</summary>
internal interface IBlobReader : IDisposable
{
    /// <summary>File length in bytes.</summary>
    long Length { get; }

    /// <summary>
    /// The size of read worth making at once: a local file reads well in 1 MiB runs; an object store,
    /// where every read is a request with its round trip, in runs of its part size.
    /// </summary>
    int PreferredReadBytes => 1 << 20;

    /// <summary>True when every read is a request with its own round trip (an object store), so many small reads are worth gathering (<see cref="BlockCachedReader"/>).</summary>
    bool ReadsAreRequests => false;

    /// <summary>Fills <paramref name="buffer"/> from <paramref name="offset"/>; throws when the file ends first.</summary>
    void ReadExactly(Span<byte> buffer, long offset);
}
