namespace ActorCkpt;

/// <summary>What a write chosen by a <see cref="FaultPolicy"/> suffers.</summary>
internal abstract class WriteFault
{
    /// <summary>
    /// A torn write: its first block of data lands, then the second write (or the flush, whichever
    /// comes first) throws the policy's error.
    /// </summary>
    public static WriteFault Fail { get; } = new Failing();

    /// <summary>The last byte of the file is flipped when it is flushed; the write reports success.</summary>
    public static WriteFault Corrupt { get; } = new Corrupting();

    /// <summary>The file's create waits <paramref name="delay"/> (a slow disk), then the write goes through.</summary>
    public static WriteFault Delay(TimeSpan delay) => new Delaying(delay);

    /// <summary>The file's create waits until <paramref name="gate"/> is opened (the file does not exist meanwhile), then the write goes through.</summary>
    public static WriteFault Block(WriteGate gate) => new Blocking(gate);

    /// <summary>Runs before the file at <paramref name="path"/> is created (nothing by default); a wait in it ends, throwing <see cref="OperationCanceledException"/>, when <paramref name="stop"/> does.</summary>
    public virtual void BeforeCreate(string path, CancellationToken stop) { }

    /// <summary>The writer that does this to <paramref name="inner"/> (itself by default); <paramref name="error"/> is what a failure throws.</summary>
    public virtual IBlobWriter Apply(IBlobWriter inner, Exception error) => inner;

    private sealed class Failing : WriteFault
    {
        public override IBlobWriter Apply(IBlobWriter inner, Exception error) => new TornWriter(inner, error);
    }

    private sealed class Delaying(TimeSpan delay) : WriteFault
    {
        // The writers are synchronous and run on the blocking-I/O dispatcher: a slow disk blocks them too.
        public override void BeforeCreate(string path, CancellationToken stop)
        {
            if (stop.WaitHandle.WaitOne(delay)) stop.ThrowIfCancellationRequested();
        }
    }

    private sealed class Blocking(WriteGate gate) : WriteFault
    {
        public override void BeforeCreate(string path, CancellationToken stop) => gate.Pass(path, stop);
    }

    private sealed class Corrupting : WriteFault
    {
        public override IBlobWriter Apply(IBlobWriter inner, Exception error) => new CorruptingWriter(inner);
    }

    private sealed class TornWriter(IBlobWriter inner, Exception error) : IBlobWriter
    {
        public void Abandon() => inner.Abandon();

        private int _writes;

        public void Write(ReadOnlySpan<byte> data, long offset)
        {
            if (++_writes > 1) throw error;
            inner.Write(data, offset);
        }

        public void Flush() => throw error;

        public void Dispose() => inner.Dispose();
    }

    /// <summary>Remembers the byte that ends the file and writes it back flipped before the flush.</summary>
    private sealed class CorruptingWriter(IBlobWriter inner) : IBlobWriter
    {
        public void Abandon() => inner.Abandon();

        private long _end;
        private byte _last;

        public void Write(ReadOnlySpan<byte> data, long offset)
        {
            inner.Write(data, offset);
            if (data.Length == 0 || offset + data.Length < _end) return;
            _end = offset + data.Length;
            _last = data[^1];
        }

        public void Flush()
        {
            if (_end > 0) inner.Write(new[] { (byte)~_last }, _end - 1);
            inner.Flush();
        }

        public void Dispose() => inner.Dispose();
    }
}
