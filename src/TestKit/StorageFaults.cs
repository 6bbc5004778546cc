namespace ActorCkpt.TestKit;

/// <summary>
/// Faults to inject into the storage of a checkpointer under test. Add faults (before or while it
/// runs), then hand this object to the host with <c>UseStorageFaults</c>
/// (<see cref="StorageFaultsExtensions"/>) or to a node of an <see cref="ActorCkptTestCluster"/>.
/// Each fault counts the writes (files created: data files, metadata, the latest tracker) whose
/// path under the root matches its pattern, from 1, from when it was added. Patterns:
/// <c>"*.safetensors"</c> (the data files, the default) matches a suffix, <c>"step-00000002/*"</c>
/// a prefix, <c>"*"</c> every file, anything else one exact path such as
/// <c>"step-00000002/metadata.json.tmp"</c>. Thread-safe. The same implementation the project's
/// own fault tests use. The catalog (its SQLite or PostgreSQL database) is not written through
/// this storage and is not affected.
/// </summary>
/// <example>
/// <code>
/// var faults = new StorageFaults();
/// var second = faults.FailWrite(2);                      // the 2nd data file written fails (a torn write)
/// await using var ckpt = await Checkpointer.StartAsync(new CheckpointerOptions { Root = root }.UseStorageFaults(faults));
/// await ckpt.SaveAsync(1, state);                        // the writer retries the file: the save commits
/// Assert.True(second.Fired.IsCompleted);
/// </code>
/// </example>
public sealed class StorageFaults
{
    /// <summary>The pattern of the data files: every <c>.safetensors</c> file a save writes.</summary>
    public const string DataFiles = "*.safetensors";

    /// <summary>The pattern of every file.</summary>
    public const string AllFiles = "*";

    private readonly object _lock = new();
    private IReadOnlyList<InjectedFault> _faults = [];
    private IReadOnlyList<FaultPolicy> _policies = [];

    /// <summary>Every fault added so far, in the order they apply.</summary>
    public IReadOnlyList<InjectedFault> Faults => Volatile.Read(ref _faults);

    /// <summary>
    /// The <paramref name="n"/>-th matching write fails as a torn write: its first block lands, then
    /// its next write or its flush throws <see cref="IOException"/> "injected fault in write #N of
    /// 'PATH'". A writer retries such a failure (with backoff, up to <c>actorckpt.writer.max-retries</c>).
    /// </summary>
    public InjectedFault FailWrite(int n, string pattern = DataFiles)
    {
        Positive(n, nameof(n));
        return Add(new InjectedFault($"fail write #{n} of {pattern}", FaultPolicy.FailNth(n, Check(pattern))));
    }

    /// <summary>The matching writes numbered <paramref name="first"/> to <paramref name="first"/> + <paramref name="count"/> - 1 fail as <see cref="FailWrite"/> says.</summary>
    public InjectedFault FailWrites(int first, int count, string pattern = DataFiles)
    {
        Positive(first, nameof(first));
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), $"count = {count}: a range holds at least one write (a fault of none never fires)");
        if (count > int.MaxValue - first + 1) throw new ArgumentOutOfRangeException(nameof(count), $"writes #{first} to #{(long)first + count - 1}: writes are counted up to #{int.MaxValue}");
        return Add(new InjectedFault($"fail writes #{first}..#{first + count - 1} of {pattern}", FaultPolicy.FailRange(first, count, Check(pattern))));
    }

    /// <summary>Every matching write fails as <see cref="FailWrite"/> says (a storage that is broken for good).</summary>
    public InjectedFault FailAllWrites(string pattern = DataFiles) =>
        Add(new InjectedFault($"fail every write of {pattern}", FaultPolicy.FailAlways(Check(pattern))));

    /// <summary>The <paramref name="n"/>-th matching write waits <paramref name="delay"/> before its file is created (a slow disk), then goes through.</summary>
    public InjectedFault DelayWrite(int n, TimeSpan delay, string pattern = DataFiles)
    {
        Positive(n, nameof(n));
        if (delay == Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(nameof(delay), "delay = Timeout.InfiniteTimeSpan: a write held until the test lets it go is BlockWrite(n), released by its Release()");
        if (delay < TimeSpan.Zero || delay > CheckpointNode.LongestTimer)
            throw new ArgumentOutOfRangeException(nameof(delay), $"delay = {delay}: must not be negative, and at most {CheckpointNode.LongestTimer} (the longest a wait takes)");
        return Add(new InjectedFault($"delay write #{n} of {pattern} by {delay}", FaultPolicy.DelayNth(n, delay, Check(pattern))));
    }

    /// <summary>
    /// The <paramref name="n"/>-th matching write lands with the last byte of its file flipped and
    /// reports success (silent corruption: a bad disk or cable). A save still commits; loading or
    /// verifying that step refuses it, naming the checksum that does not match.
    /// </summary>
    public InjectedFault CorruptWrite(int n, string pattern = DataFiles)
    {
        Positive(n, nameof(n));
        return Add(new InjectedFault($"corrupt write #{n} of {pattern}", FaultPolicy.CorruptNth(n, Check(pattern))));
    }

    /// <summary>
    /// The disk fills up after <paramref name="bytes"/> more bytes written to matching files (by
    /// default every file): the write that passes that total lands what fits and throws
    /// <see cref="IOException"/> "No space left on device : 'PATH'" (HResult 28, ENOSPC), and so does
    /// every later write. A writer does not retry it: the save fails naming that error, and nothing
    /// of it is committed.
    /// </summary>
    public InjectedFault FillDiskAfter(long bytes, string pattern = AllFiles)
    {
        if (bytes < 0) throw new ArgumentOutOfRangeException(nameof(bytes), $"bytes = {bytes}: must not be negative");
        return Add(new InjectedFault($"disk full after {bytes} bytes of {pattern}", FaultPolicy.DiskFullAfter(bytes, Check(pattern))));
    }

    /// <summary>
    /// The <paramref name="n"/>-th matching write waits, before its file is created, until the test
    /// calls <see cref="BlockedWrite.Release"/>; then it goes through. <see cref="BlockedWrite.Entered"/>
    /// completes when it starts waiting: the moment to look at a save in flight, or to kill a node.
    /// </summary>
    public BlockedWrite BlockWrite(int n = 1, string pattern = DataFiles)
    {
        Positive(n, nameof(n));
        var gate = new WriteGate();
        return Add(new BlockedWrite($"block write #{n} of {pattern}", FaultPolicy.BlockNth(n, gate, Check(pattern)), gate));
    }

    /// <summary>Releases every blocked write (a test that ends, or one that lets every held write go at once).</summary>
    public void ReleaseAll()
    {
        foreach (var fault in Faults)
            if (fault is BlockedWrite blocked) blocked.Release();
    }

    /// <summary>The storage <paramref name="inner"/> with these faults in front of it (faults added later apply too).</summary>
    internal IBlobStore Wrap(IBlobStore inner) => new FaultInjectingBlobStore(inner, () => Volatile.Read(ref _policies));

    private T Add<T>(T fault) where T : InjectedFault
    {
        lock (_lock)
        {
            _faults = [.. _faults, fault];
            _policies = [.. _policies, fault.Policy];
        }
        return fault;
    }

    private static string Check(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        if (string.IsNullOrWhiteSpace(pattern) || pattern.Trim() != pattern)
            throw new ArgumentException($"the path pattern is empty or has spaces at an end ('{pattern}'), and would match no file: give \"*.safetensors\", \"step-00000002/*\", \"*\" or one path", nameof(pattern));
        return pattern;
    }

    private static void Positive(int n, string name)
    {
        if (n < 1) throw new ArgumentOutOfRangeException(name, $"{name} = {n}: writes are counted from 1");
    }
}
