namespace ActorCkpt;

/// <summary>
/// Which file writes <see cref="FaultInjectingBlobStore"/> spoils, and how (<see cref="Fault"/>).
/// A "write" is one file created through the store whose path matches the policy's filter; writes
/// are counted from 1. Thread-safe: writers on many threads share one policy. The one
/// implementation behind the project's own fault tests and the ActorCkpt.TestKit package.
/// </summary>
internal abstract class FaultPolicy
{
    private readonly TaskCompletionSource _fired = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _count;

    /// <summary>
    /// Glob-like filter on paths: "*.safetensors" (the default) matches a suffix, "step-00000002/*"
    /// a prefix, "*" every file, anything else one exact path.
    /// </summary>
    public string PathPattern { get; init; } = "*.safetensors";

    /// <summary>The error a failing write throws, given its path and write number (an <see cref="InjectedFaultException"/> by default).</summary>
    public Func<string, int, Exception> Error { get; init; } = (path, n) => new InjectedFaultException(path, n);

    /// <summary>What a chosen write suffers: <see cref="WriteFault.Fail"/> (a torn write) unless set.</summary>
    public WriteFault Fault { get; init; } = WriteFault.Fail;

    /// <summary>Number of matching writes seen so far.</summary>
    public int WritesSeen => Volatile.Read(ref _count);

    /// <summary>Completes when the policy first spoils a write (when that write is created, before it fails, waits or lands corrupted).</summary>
    public Task Fired => _fired.Task;

    /// <summary>Fail only the <paramref name="k"/>-th write matching <paramref name="pathPattern"/>.</summary>
    public static FaultPolicy FailNth(int k, string pathPattern = "*.safetensors") => new Nth(k) { PathPattern = pathPattern };

    /// <summary>Fail the writes (matching <paramref name="pathPattern"/>) numbered <paramref name="first"/> to <paramref name="first"/> + <paramref name="count"/> - 1.</summary>
    public static FaultPolicy FailRange(int first, int count, string pathPattern = "*.safetensors") => new Range(first, count) { PathPattern = pathPattern };

    /// <summary>Fail each matching write with probability <paramref name="p"/>, from a seeded generator.</summary>
    public static FaultPolicy FailWithProbability(double p, int seed) => new Probability(p, seed);

    /// <summary>Every matching write fails as on a full disk (ENOSPC).</summary>
    public static FaultPolicy DiskFull(string pathPattern = "*.safetensors") =>
        new Range(1, int.MaxValue) { PathPattern = pathPattern, Error = (path, _) => StorageErrors.DiskFull(path) };

    /// <summary>Every matching write fails as on read-only or forbidden storage (EACCES).</summary>
    public static FaultPolicy AccessDenied(string pathPattern = "*.safetensors") =>
        new Range(1, int.MaxValue) { PathPattern = pathPattern, Error = (path, _) => StorageErrors.AccessDenied(path) };

    /// <summary>Fail every write whose path matches <paramref name="pathPattern"/> (see <see cref="PathPattern"/>).</summary>
    public static FaultPolicy FailAlways(string pathPattern = "*.safetensors") => new Range(1, int.MaxValue) { PathPattern = pathPattern };

    /// <summary>The <paramref name="k"/>-th matching write waits <paramref name="delay"/> before it is created, then goes through.</summary>
    public static FaultPolicy DelayNth(int k, TimeSpan delay, string pathPattern = "*.safetensors") =>
        new Nth(k) { Fault = WriteFault.Delay(delay), PathPattern = pathPattern };

    /// <summary>The <paramref name="k"/>-th matching write lands with its last byte flipped, and reports success: silent corruption.</summary>
    public static FaultPolicy CorruptNth(int k, string pathPattern = "*.safetensors") => new Nth(k) { Fault = WriteFault.Corrupt, PathPattern = pathPattern };

    /// <summary>The <paramref name="k"/>-th matching write waits at <paramref name="gate"/> until it is opened, then goes through.</summary>
    public static FaultPolicy BlockNth(int k, WriteGate gate, string pathPattern = "*.safetensors") =>
        new Nth(k) { Fault = WriteFault.Block(gate), PathPattern = pathPattern };

    /// <summary>
    /// A disk with <paramref name="bytes"/> bytes free for matching writes ("*": every file): the write
    /// that would pass that total lands what fits and throws ENOSPC (<see cref="StorageErrors.DiskFull"/>),
    /// and so does every later one. Space is not given back.
    /// </summary>
    public static FaultPolicy DiskFullAfter(long bytes, string pathPattern = "*") => new DiskSpace(bytes) { PathPattern = pathPattern };

    /// <summary>Counts a write of <paramref name="path"/> and tells whether it must be spoiled.</summary>
    public bool ShouldFail(string path, out int writeNumber)
    {
        writeNumber = 0;
        if (!Matches(path)) return false;
        writeNumber = Interlocked.Increment(ref _count);
        return Decide(writeNumber);
    }

    /// <summary>
    /// Called when <paramref name="path"/> is about to be created: counts the write and, when it is
    /// one to spoil, does what must happen before the file exists (a delay, a block) and returns what
    /// to do to its writer; null leaves the write alone.
    /// </summary>
    public virtual Func<IBlobWriter, IBlobWriter>? Admit(string path, CancellationToken stop = default)
    {
        if (!ShouldFail(path, out var n)) return null;
        MarkFired();
        Fault.BeforeCreate(path, stop);
        var error = Error(path, n);
        return writer => Fault.Apply(writer, error);
    }

    /// <summary>Whether write number <paramref name="n"/> is spoiled.</summary>
    protected abstract bool Decide(int n);

    /// <summary>Completes <see cref="Fired"/>.</summary>
    protected void MarkFired() => _fired.TrySetResult();

    private bool Matches(string path) =>
        PathPattern == "*"
        || (PathPattern.StartsWith('*') ? path.EndsWith(PathPattern[1..], StringComparison.Ordinal)
            : PathPattern.EndsWith('*') ? path.StartsWith(PathPattern[..^1], StringComparison.Ordinal)
            : path == PathPattern);

    private sealed class Nth(int k) : FaultPolicy
    {
        protected override bool Decide(int n) => n == k;
    }

    private sealed class Range(int first, int count) : FaultPolicy
    {
        protected override bool Decide(int n) => n >= first && n - first < count;
    }

    private sealed class Probability(double p, int seed) : FaultPolicy
    {
        private readonly Random _random = new(seed);

        protected override bool Decide(int n)
        {
            lock (_random) return _random.NextDouble() < p;
        }
    }

    /// <summary>Free space shared by every matching write; each write takes from it what it writes.</summary>
    private sealed class DiskSpace(long bytes) : FaultPolicy
    {
        private long _free = bytes;

        protected override bool Decide(int n) => true;

        public override Func<IBlobWriter, IBlobWriter>? Admit(string path, CancellationToken stop = default) =>
            ShouldFail(path, out _) ? writer => new SpaceTakingWriter(writer, path, this) : null;

        /// <summary>Takes up to <paramref name="wanted"/> bytes of the free space; returns how many it got.</summary>
        private long Take(long wanted)
        {
            while (true)
            {
                var free = Volatile.Read(ref _free);
                var got = Math.Min(free, wanted);
                if (Interlocked.CompareExchange(ref _free, free - got, free) == free) return got;
            }
        }

        private sealed class SpaceTakingWriter(IBlobWriter inner, string path, DiskSpace disk) : IBlobWriter
        {
            public void Abandon() => inner.Abandon();

            public void Write(ReadOnlySpan<byte> data, long offset)
            {
                var got = disk.Take(data.Length);
                if (got > 0) inner.Write(data[..(int)got], offset);
                if (got == data.Length) return;
                disk.MarkFired();
                throw StorageErrors.DiskFull(path);
            }

            public void Flush() => inner.Flush();

            public void Dispose() => inner.Dispose();
        }
    }
}
