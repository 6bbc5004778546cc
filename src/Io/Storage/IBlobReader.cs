namespace ActorCkpt;

/// <summary>A file opened for positional reads; safe for concurrent reads of different ranges.</summary>
internal interface IBlobReader : IDisposable
{
    /// <summary>File length in bytes.</summary>
    long Length { get; }

    /// <summary>Fills <paramref name="buffer"/> from <paramref name="offset"/>; throws when the file ends first.</summary>
    void ReadExactly(Span<byte> buffer, long offset);
}
