using Microsoft.Win32.SafeHandles;

namespace ActorCkpt;

/// <summary>
/// Writes one tmpfs replica (<see cref="ReplicaFile"/>): the data file goes through
/// <see cref="DataFileStreamWriter"/> behind room for the header, into a hidden temporary file;
/// <see cref="Complete"/> writes the header and renames the file to its published name, so a
/// replica is either whole or not there. Disposed before <see cref="Complete"/>, the temporary file
/// is deleted. Made by <see cref="ReplicaStore.Create(long, Guid, FileWritePlan, int, IReadOnlyDictionary{string, string})"/>.
/// </summary>
internal sealed class ReplicaFileWriter : IDataFileSink
{
    private readonly string _temp;
    private readonly string _final;
    private readonly string _host;
    private readonly long _step;
    private readonly Guid _saveId;
    private readonly int _rank;
    private readonly int _headerLength;
    private readonly SafeFileHandle _handle;
    private readonly DataFileStreamWriter _data;
    private readonly Func<bool>? _dropped;
    private readonly bool _claimed;
    private bool _published;

    /// <summary>
    /// Creates <paramref name="temp"/> (it must not exist) for the replica that <see cref="Complete"/>
    /// publishes as <paramref name="final"/>; <paramref name="host"/> names the store in errors. With
    /// <paramref name="claimed"/>, <paramref name="temp"/> is a spare file already renamed there: it is
    /// overwritten in place, every byte of the replica written, and cut to the replica's length at the end.
    /// </summary>
    /// <remarks>
    /// <paramref name="dropped"/> says whether the copy was dropped while it was written (its round
    /// ended without it): <see cref="Complete"/> then deletes it instead of publishing it.
    /// </remarks>
    public ReplicaFileWriter(string temp, string final, string host, long step, Guid saveId, FileWritePlan plan,
        IReadOnlyList<int> blockSizes, IReadOnlyDictionary<string, string> fileMetadata, bool claimed = false, Func<bool>? dropped = null)
    {
        _dropped = dropped;
        _claimed = claimed;
        _temp = temp;
        _final = final;
        _host = host;
        _step = step;
        _saveId = saveId;
        _rank = plan.Rank;
        _headerLength = ReplicaFile.HeaderLength(plan, blockSizes);
        try
        {
            _handle = Full(() => OpenTemporary(temp, claimed));
        }
        catch when (claimed)
        {
            TryDelete(temp);
            throw;
        }
        try
        {
            _data = Full(() => new DataFileStreamWriter(new OffsetBlobWriter(new HandleWriter(_handle), _headerLength), plan, blockSizes, fileMetadata));
        }
        catch
        {
            _handle.Dispose();
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>
    /// Opens the temporary file <paramref name="temp"/> for writing: created, never an existing file nor
    /// whatever a link planted at the name points to; or, <paramref name="claimed"/>, the spare renamed
    /// there, as a regular file only, never through a link.
    /// </summary>
    internal static SafeFileHandle OpenTemporary(string temp, bool claimed) =>
        claimed ? RegularFile.OpenWrite(temp) : File.OpenHandle(temp, FileMode.CreateNew, FileAccess.Write, FileShare.Read);

    /// <summary>The path the replica is published at.</summary>
    public string Path => _final;

    /// <inheritdoc />
    public void Append(int item, long offset, ReadOnlySpan<byte> bytes)
    {
        try
        {
            _data.Append(item, offset, bytes);
        }
        catch (IOException e) when (StorageErrors.IsDiskFull(e))
        {
            throw FullError(e);
        }
    }

    /// <summary>Checks every byte arrived, writes the header, and publishes the replica by a rename.</summary>
    public FileWriteResult Complete()
    {
        if (_published) throw new InvalidOperationException($"'{_final}' is already published");
        var result = _data.Complete();
        var header = ReplicaFile.Encode(new ReplicaHeader(_step, _saveId, _rank, result.FileName, result.Length, _headerLength, result));
        Full(() => RandomAccess.Write(_handle, header, 0));
        // A spare longer than this replica keeps its tail until cut here (a shorter one grew as it was written).
        if (_claimed) RandomAccess.SetLength(_handle, _headerLength + result.Length);
        _data.Dispose();
        // A copy dropped while it was written would be published into a step that no longer holds it,
        // counted by no budget until the host's next announcement.
        if (_dropped?.Invoke() == true)
        {
            TryDelete(_temp);
            throw new ActorCkptException($"the copy of '{result.FileName}' of step {_step} on host '{_host}' was dropped while it was written (its round is over)");
        }
        // No fsync: tmpfs has nothing below it, and a lost machine takes the tier with it. The rename
        // is atomic on one file system, and a name already there is the same attempt's same bytes.
        File.Move(_temp, _final, overwrite: true);
        _published = true;
        return result;
    }

    /// <summary>Closes the file; before <see cref="Complete"/>, deletes it.</summary>
    public void Dispose()
    {
        _data.Dispose();
        if (!_published) TryDelete(_temp);
    }

    /// <summary>Runs <paramref name="write"/>, turning a full store into <see cref="FullError"/>.</summary>
    private T Full<T>(Func<T> write)
    {
        try
        {
            return write();
        }
        catch (IOException e) when (StorageErrors.IsDiskFull(e))
        {
            throw FullError(e);
        }
    }

    /// <summary>Runs <paramref name="write"/>, turning a full store into <see cref="FullError"/>.</summary>
    private void Full(Action write) => Full(() => { write(); return 0; });

    /// <summary>ENOSPC naming the host, with the errno kept so <see cref="StorageErrors.IsDiskFull"/> still sees a full store.</summary>
    private IOException FullError(IOException e) =>
        new($"host '{_host}': no room in the replica store for '{_final}' ({e.Message})", e.HResult);

    /// <summary>Deletes <paramref name="path"/> when it can; else it is debris whose pid is this process's, which RemoveDebris takes once this process is gone.</summary>
    private static void TryDelete(string path) => LocalFiles.TryDelete(path);

    /// <summary>Positional writes to the temporary file, through a pooled buffer or straight from huge pages (<see cref="CopiedWrites"/>); flushing is nothing (see <see cref="Complete"/>).</summary>
    private sealed class HandleWriter(SafeFileHandle handle) : IBlobWriter
    {
        /// <inheritdoc />
        public void Write(ReadOnlySpan<byte> data, long offset) => CopiedWrites.Write(handle, data, offset);

        /// <inheritdoc />
        public void WriteLent(ReadOnlyMemory<byte> data, long offset) => CopiedWrites.Write(handle, data, offset);

        /// <inheritdoc />
        public void Flush()
        {
        }

        /// <inheritdoc />
        public void Dispose() => handle.Dispose();
    }
}
