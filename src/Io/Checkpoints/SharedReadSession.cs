namespace ActorCkpt;

/// <summary>
/// One rank's load among the loads of a step that share reads (see <see cref="SharedReads"/>).
/// Call order: <see cref="Declare"/> the plan's reads once planned; <see cref="Claim"/> each read
/// and carry out what it says (<see cref="Publish"/> or <see cref="Fail"/> what it read,
/// <see cref="CopyFrom"/> and <see cref="Unpin"/> what another rank read); then
/// <see cref="LeaveAsync"/> while the destinations are still alive. <see cref="Dispose"/> leaves without waiting.
/// </summary>
internal sealed class SharedReadSession : IDisposable
{
    private readonly SharedReads _node;
    private readonly SharedReads.Group _group;
    private readonly HashSet<SharedRangeKey> _interests = new();
    private readonly List<SharedRange> _owned = new();
    private bool _declared;
    private bool _left;

    internal SharedReadSession(SharedReads node, SharedReads.Group group) => (_node, _group) = (node, group);

    /// <summary>Says which ranges this load needs: their owners keep them until this load has taken them.</summary>
    public void Declare(IEnumerable<ReadItem> reads)
    {
        lock (_node.Lock)
        {
            if (_declared) throw new InvalidOperationException("a load declares its reads once");
            foreach (var read in reads)
                if (_interests.Add(SharedRangeKey.Of(read)))
                    _group.Interest[SharedRangeKey.Of(read)] = _group.Interest.GetValueOrDefault(SharedRangeKey.Of(read)) + 1;
            Declared();
            _group.Changed();
        }
    }

    /// <summary>What to do with <paramref name="read"/> now; never waits.</summary>
    public SharedClaim Claim(ReadItem read)
    {
        var key = SharedRangeKey.Of(read);
        lock (_node.Lock)
        {
            if (_group.Ranges.TryGetValue(key, out var range))
                switch (range.State)
                {
                    case SharedRange.Phase.Reading:
                        return new SharedClaim(SharedClaim.Kind.Wait, range);
                    case SharedRange.Phase.Published:
                        range.Pins++;
                        Taken(key);
                        return new SharedClaim(SharedClaim.Kind.Copy, range);
                    case SharedRange.Phase.Corrupt:
                        Taken(key);
                        return new SharedClaim(SharedClaim.Kind.Corrupt, range);
                }
            Taken(key);
            if (_left || !_node.TryHold(read.RangeLength)) return new SharedClaim(SharedClaim.Kind.Read, null);
            range = new SharedRange(key, this);
            _group.Ranges[key] = range;
            _owned.Add(range);
            return new SharedClaim(SharedClaim.Kind.Read, range);
        }
    }

    /// <summary>This load read and verified <paramref name="range"/> into <paramref name="destination"/> as <paramref name="read"/>.</summary>
    public void Publish(SharedRange range, ReadItem read, DestinationProvider destination)
    {
        lock (_node.Lock)
        {
            range.Publish(read, destination);
            _group.Changed();
        }
    }

    /// <summary>
    /// This load's read of <paramref name="range"/> failed with <paramref name="error"/>: a checksum
    /// mismatch is kept for every rank that needs the range; any other failure is this load's own,
    /// and the range is retracted so that the others read it themselves.
    /// </summary>
    public void Fail(SharedRange range, Exception error)
    {
        lock (_node.Lock)
        {
            _node.Release(range.Key.Length);
            _owned.Remove(range);
            if (error is ChecksumMismatchException mismatch)
            {
                range.Fail(mismatch);
            }
            else
            {
                _group.Ranges.Remove(range.Key);
                range.Retract();
            }
            _group.Changed();
        }
    }

    /// <summary>
    /// Copies the region of <paramref name="read"/> from <paramref name="range"/>'s owner (a
    /// <see cref="SharedClaim.Kind.Copy"/> claim, so pinned) into <paramref name="destination"/>.
    /// </summary>
    public static void CopyFrom(SharedRange range, ReadItem read, DestinationProvider destination)
    {
        var from = range.OwnerRead!;
        var size = DTypes.ElementSize(read.DType);
        BoxCopy.Copy(ChunkReader.Window(from, range.OwnerDestination!), from.TargetBox.Lengths, from.DestinationStart / size, from.Region.OffsetsWithin(from.TargetBox),
            ChunkReader.Window(read, destination), read.TargetBox.Lengths, read.DestinationStart / size, read.Region.OffsetsWithin(read.TargetBox),
            read.Region.Lengths, size);
    }

    /// <summary>Done copying from <paramref name="range"/>.</summary>
    public void Unpin(SharedRange range)
    {
        lock (_node.Lock)
        {
            range.Pins--;
            _group.Changed();
        }
    }

    /// <summary>Waits until <paramref name="range"/> is no longer being read, counted in <see cref="SharedReads.Waiting"/>.</summary>
    public async Task WaitAsync(SharedRange range, CancellationToken cancellation)
    {
        _node.AddWaiting(1);
        try
        {
            await range.Settled.WaitAsync(cancellation).ConfigureAwait(false);
        }
        finally
        {
            _node.AddWaiting(-1);
        }
    }

    /// <summary>
    /// Ends this load's part. With <paramref name="waitForOthers"/> (its reads all succeeded) it
    /// first waits until no rank that joined needs a range this load read (until
    /// <paramref name="cancellation"/> is cancelled: then the others read what they still need
    /// themselves); otherwise it retracts them at once. Either way it returns once no rank is
    /// copying from this load's destinations, which may then go.
    /// </summary>
    public async Task LeaveAsync(bool waitForOthers, CancellationToken cancellation)
    {
        Task next;
        lock (_node.Lock)
        {
            if (_left) return;
            Declared();
            foreach (var key in _interests) Drop(key);
            _interests.Clear();
            _group.Changed();
            next = _group.NextChange;
        }
        while (waitForOthers && !cancellation.IsCancellationRequested)
        {
            lock (_node.Lock)
            {
                if (!Needed()) break;
                next = _group.NextChange;
            }
            try
            {
                await next.WaitAsync(cancellation).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        lock (_node.Lock)
        {
            _left = true;
            foreach (var range in _owned.Where(r => r.State is SharedRange.Phase.Published or SharedRange.Phase.Reading))
            {
                _group.Ranges.Remove(range.Key);
                _node.Release(range.Key.Length);
                range.Retract();
            }
            _group.Changed();
        }
        // Copies under way are memcpys that wait for nothing: uncancellable, and short.
        while (true)
        {
            lock (_node.Lock)
            {
                if (_owned.All(r => r.Pins == 0))
                {
                    _owned.Clear();
                    _group.Members.Remove(this);
                    _node.Forget(_group);
                    return;
                }
                next = _group.NextChange;
            }
            await next.ConfigureAwait(false);
        }
    }

    /// <summary>Leaves without waiting for other ranks (see <see cref="LeaveAsync"/>).</summary>
    public void Dispose() => LeaveAsync(waitForOthers: false, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>True while a rank that joined may still need a range this load published. Under the lock.</summary>
    private bool Needed()
    {
        var published = _owned.Where(r => r.State == SharedRange.Phase.Published).ToList();
        if (published.Count == 0) return false;
        return _group.Undeclared > 0 || published.Any(r => _group.Interest.ContainsKey(r.Key) || r.Pins > 0);
    }

    private void Declared()
    {
        if (_declared) return;
        _declared = true;
        _group.Undeclared--;
    }

    /// <summary>This load no longer waits for the range of <paramref name="key"/>. Under the lock.</summary>
    private void Taken(SharedRangeKey key)
    {
        if (_interests.Remove(key)) Drop(key);
    }

    private void Drop(SharedRangeKey key)
    {
        var left = _group.Interest[key] - 1;
        if (left == 0) _group.Interest.Remove(key);
        else _group.Interest[key] = left;
    }
}
