namespace ActorCkpt;

/// <summary>
/// Where a writer puts one data file of a save whose bytes arrive in pieces: a file on disk
/// (<see cref="DataFileStreamWriter"/>) or a replica in tmpfs (<see cref="ReplicaFileWriter"/>).
/// Call order: <see cref="Append"/> for every piece (each item's pieces in order, items may
/// interleave), then <see cref="Complete"/> once, then <see cref="IDisposable.Dispose"/>; a sink
/// disposed before <see cref="Complete"/> gives the file up.
/// </summary>
internal interface IDataFileSink : IDisposable
{
    /// <summary>Writes <paramref name="bytes"/> of item <paramref name="item"/> of the plan, starting at byte <paramref name="offset"/> of the item.</summary>
    void Append(int item, long offset, ReadOnlySpan<byte> bytes);

    /// <summary>
    /// As <see cref="Append"/>, with bytes the caller keeps valid and unchanged until
    /// <see cref="Complete"/> or <see cref="IDisposable.Dispose"/> has returned (staged buffers), so
    /// that a file sent later may be sent from them without a copy.
    /// </summary>
    void AppendLent(int item, long offset, ReadOnlyMemory<byte> bytes) => Append(item, offset, bytes.Span);

    /// <summary>Checks that every byte arrived, makes the file what readers see, and reports where each item landed.</summary>
    FileWriteResult Complete();
}
