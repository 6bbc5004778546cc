namespace ActorCkpt;

/// <summary>
/// The bulk-channel sink of a data file a remote rank pushes: the transfer is the file's items one
/// after the other, and each checked frame goes to the file at its item and offset (a
/// <see cref="DataFileStreamWriter"/> on disk, or a tmpfs <see cref="ReplicaFileWriter"/>).
/// <see cref="Complete"/> completes the file (on disk: fsyncs it) before the sender hears it is done.
/// Once <see cref="Close"/>d (the writer gave up the attempt), nothing more reaches the file.
/// </summary>
/// <param name="file">The file being written.</param>
/// <param name="plan">Its plan.</param>
/// <param name="firstBytes">Runs once, when the first bytes arrive (a fault-injection point).</param>
internal sealed class FileTransferSink(IDataFileSink file, FileWritePlan plan, Action? firstBytes = null) : ITransferSink
{
    private readonly object _gate = new();
    private int _item;
    private long _itemOffset;
    private bool _closed;

    /// <summary>Bytes of the transfer: every item's.</summary>
    public long Length { get; } = plan.Items.Sum(i => i.ByteLength);

    /// <summary>The file's result, once <see cref="Complete"/> ran.</summary>
    public FileWriteResult? Result { get; private set; }

    /// <inheritdoc />
    public void Write(long position, ReadOnlySpan<byte> bytes)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            if (position == 0 && bytes.Length > 0) firstBytes?.Invoke();
            while (bytes.Length > 0)
            {
                while (_itemOffset == plan.Items[_item].ByteLength)
                {
                    _item++;
                    _itemOffset = 0;
                }
                var take = (int)Math.Min(bytes.Length, plan.Items[_item].ByteLength - _itemOffset);
                file.Append(_item, _itemOffset, bytes[..take]);
                _itemOffset += take;
                bytes = bytes[take..];
            }
        }
    }

    /// <inheritdoc />
    public void Complete()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            Result = file.Complete();
        }
    }

    /// <inheritdoc />
    public void Abort(Exception cause) => Close();

    /// <summary>Nothing more reaches the file after this returns.</summary>
    public void Close()
    {
        lock (_gate) _closed = true;
    }
}
