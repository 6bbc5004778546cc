namespace ActorCkpt;

/// <summary>
/// When <see cref="FaultInjectingBlobStore"/> makes a file write fail. A "write" is one file
/// created through the store whose path matches the policy's filter; writes are counted from 1.
/// Thread-safe: writers on many threads share one policy.
/// </summary>
internal abstract class FaultPolicy
{
    private int _count;

    /// <summary>
    /// Glob-like filter on paths: "*.safetensors" (the default) matches a suffix, "step-00000002/*"
    /// a prefix, "*" every file, anything else one exact path.
    /// </summary>
    public string PathPattern { get; init; } = "*.safetensors";

    /// <summary>The error a failing write throws, given its path and write number (an <see cref="InjectedFaultException"/> by default).</summary>
    public Func<string, int, Exception> Error { get; init; } = (path, n) => new InjectedFaultException(path, n);

    /// <summary>Number of matching writes seen so far.</summary>
    public int WritesSeen => Volatile.Read(ref _count);

    /// <summary>Fail only the <paramref name="k"/>-th matching write.</summary>
    public static FaultPolicy FailNth(int k) => new Nth(k);

    /// <summary>Fail the writes numbered <paramref name="first"/> to <paramref name="first"/> + <paramref name="count"/> - 1.</summary>
    public static FaultPolicy FailRange(int first, int count) => new Range(first, count);

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

    /// <summary>Counts a write of <paramref name="path"/> and tells whether it must fail.</summary>
    public bool ShouldFail(string path, out int writeNumber)
    {
        writeNumber = 0;
        if (!Matches(path)) return false;
        writeNumber = Interlocked.Increment(ref _count);
        return Decide(writeNumber);
    }

    /// <summary>Whether write number <paramref name="n"/> fails.</summary>
    protected abstract bool Decide(int n);

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
}
