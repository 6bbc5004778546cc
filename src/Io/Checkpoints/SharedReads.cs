namespace ActorCkpt;

/// <summary>
/// Reads shared by the ranks of one node (one per <c>CheckpointNode</c>). Ranks that load the same
/// step at the same time (a collective load, as DCP's) each join with a <see cref="SharedReadSession"/>;
/// a byte range several of them need is then read and verified once, into the destination
/// of the rank that claimed it first, and the others copy it from there before that rank's load
/// ends. Ranges are keyed by step, metadata checksum, file, byte range and region, so no rank ever
/// copies bytes of another checkpoint. Past <see cref="Budget"/> bytes held for sharing, ranks read
/// for themselves.
/// </summary>
/// <remarks>
/// No deadlock: a rank waits only for a range another rank is reading (a read never waits for
/// anything), and at the end of a load the owner waits only for ranks that still need one of its
/// ranges, which copy it without waiting for anything else. A read that fails for a reason of the
/// reading rank (cancellation, an I/O error) is retracted and the ranks that need it read it
/// themselves; a checksum mismatch is kept and every rank that needs the range gets it.
/// </remarks>
internal sealed class SharedReads
{
    private readonly Dictionary<(long Step, string Checksum), Group> _groups = new();
    private long _held;
    private int _waiting;

    /// <summary>Sharing within <paramref name="budget"/> bytes held at once; 0 shares nothing.</summary>
    public SharedReads(long budget)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(budget);
        Budget = budget;
    }

    /// <summary>The lock every session and range of this node changes state under.</summary>
    internal object Lock { get; } = new();

    /// <summary>The most bytes of ranges held for sharing at once (being read or waiting for ranks to copy them).</summary>
    public long Budget { get; }

    /// <summary>Bytes of ranges held for sharing now.</summary>
    public long HeldBytes
    {
        get { lock (Lock) return _held; }
    }

    /// <summary>Ranks waiting now for a range another rank is reading (for tests).</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>Loads of <paramref name="step"/> joined and not yet over (for tests).</summary>
    public int Loading(long step)
    {
        lock (Lock) return _groups.Where(g => g.Key.Step == step).Sum(g => g.Value.Members.Count);
    }

    /// <summary>
    /// Joins the loads of step <paramref name="step"/> whose metadata has checksum
    /// <paramref name="metadataChecksum"/>; called once per rank's load, before it plans. The
    /// session must be ended with <see cref="SharedReadSession.LeaveAsync"/> or disposed.
    /// </summary>
    public SharedReadSession Join(long step, string metadataChecksum)
    {
        ArgumentException.ThrowIfNullOrEmpty(metadataChecksum);
        lock (Lock)
        {
            if (!_groups.TryGetValue((step, metadataChecksum), out var group))
                _groups[(step, metadataChecksum)] = group = new Group((step, metadataChecksum));
            var session = new SharedReadSession(this, group);
            group.Members.Add(session);
            group.Undeclared++;
            return session;
        }
    }

    /// <summary>Takes <paramref name="bytes"/> of the budget if they fit. Under <see cref="Lock"/>.</summary>
    internal bool TryHold(long bytes)
    {
        if (bytes > Budget - _held) return false;
        _held += bytes;
        return true;
    }

    /// <summary>Gives back <paramref name="bytes"/> of the budget. Under <see cref="Lock"/>.</summary>
    internal void Release(long bytes) => _held -= bytes;

    /// <summary>Drops <paramref name="group"/> once its last member left. Under <see cref="Lock"/>.</summary>
    internal void Forget(Group group)
    {
        if (group.Members.Count == 0) _groups.Remove(group.Id);
    }

    internal void AddWaiting(int delta) => Interlocked.Add(ref _waiting, delta);

    /// <summary>The loads of one step with one metadata checksum, and the ranges they share. Changed under <see cref="Lock"/>.</summary>
    internal sealed class Group((long Step, string Checksum) id)
    {
        private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public (long Step, string Checksum) Id { get; } = id;

        public HashSet<SharedReadSession> Members { get; } = new();

        /// <summary>Members that have not said yet which ranges they need.</summary>
        public int Undeclared { get; set; }

        public Dictionary<SharedRangeKey, SharedRange> Ranges { get; } = new();

        /// <summary>Per range, the members that said they need it and have not taken it yet.</summary>
        public Dictionary<SharedRangeKey, int> Interest { get; } = new();

        /// <summary>Completes at the next <see cref="Changed"/> call: an async condition variable.</summary>
        public Task NextChange => _changed.Task;

        /// <summary>Wakes everyone waiting for <see cref="NextChange"/>.</summary>
        public void Changed()
        {
            var old = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            old.TrySetResult();
        }
    }
}
