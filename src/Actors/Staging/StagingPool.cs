namespace ActorCkpt;

/// <summary>
/// Reusable staging buffers of one node, within a budget of host memory. Sizes are rounded up to
/// 64 KiB so the same model state finds the same buffers on every save: after the first save,
/// staging allocates nothing. A save rents all its buffers at once or waits, older steps first and
/// first in first out within a step, until saves in flight give enough back (free buffers of other
/// sizes are freed to make room); it never allocates past the budget. Older steps first: a rank's
/// next save waiting for its last one's buffers must not stand before another rank's part of that
/// last one, which it waits for. Thread-safe.
/// </summary>
internal sealed class StagingPool : IDisposable
{
    private const int Granularity = 64 << 10;
    private readonly Dictionary<int, Stack<StagingBuffer>> _free = new();
    private readonly LinkedList<Request> _waiting = new();
    // The step each rented buffer was rented for: a request that waits only on buffers of its own
    // step waits forever (they come back once the step is written, which needs this request).
    private readonly Dictionary<StagingBuffer, long> _rented = new();
    private readonly object _lock = new();
    private long _allocated;
    private bool _disposed;

    /// <summary>A pool of at most <paramref name="budgetBytes"/> bytes (0: no limit).</summary>
    public StagingPool(long budgetBytes = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(budgetBytes);
        BudgetBytes = budgetBytes;
    }

    /// <summary>Most bytes of native memory the pool ever holds; 0 for no limit.</summary>
    public long BudgetBytes { get; }

    /// <summary>Bytes of native memory the pool holds (rented and free).</summary>
    public long AllocatedBytes
    {
        get { lock (_lock) return _allocated; }
    }

    /// <summary>Number of buffers ever allocated.</summary>
    public int Allocations { get; private set; }

    /// <summary>A waiting request: the sizes, the step, and its completion.</summary>
    private sealed class Request(int[] capacities, long step, long needed)
    {
        public int[] Capacities { get; } = capacities;

        public long Step { get; } = step;

        public long Needed { get; } = needed;

        public TaskCompletionSource<IReadOnlyList<StagingBuffer>> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public LinkedListNode<Request>? Node { get; set; }
    }

    /// <summary>Number of requests waiting for buffers.</summary>
    public int Waiting
    {
        get { lock (_lock) return _waiting.Count; }
    }

    /// <summary>Bytes a buffer for <paramref name="length"/> bytes takes.</summary>
    public static int CapacityFor(long length)
    {
        if (length < 0 || length > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(length), length, "staging buffers hold 0 to 2 GiB");
        return length == 0 ? 0 : (int)Math.Min(int.MaxValue, (length + Granularity - 1) / Granularity * Granularity);
    }

    /// <summary>
    /// Buffers for every length in <paramref name="lengths"/> of a save of <paramref name="step"/>,
    /// all at once: completes at once when they fit in the budget, otherwise when enough comes back
    /// (or is cancelled by <paramref name="cancel"/>). Fails with <see cref="StagingBudgetException"/>
    /// when they could never fit: more than the whole budget, or only buffers of the same step
    /// (other ranks of this node) stand in the way.
    /// </summary>
    public Task<IReadOnlyList<StagingBuffer>> RentAllAsync(IReadOnlyList<long> lengths, long step, CancellationToken cancel = default)
    {
        var capacities = lengths.Select(CapacityFor).ToArray();
        var needed = capacities.Sum(c => (long)c);
        if (BudgetBytes > 0 && needed > BudgetBytes)
            throw new StagingBudgetException(needed, BudgetBytes, "more than the whole budget");
        var request = new Request(capacities, step, needed);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var after = _waiting.First;
            while (after is not null && after.Value.Step <= step) after = after.Next;
            request.Node = after is null ? _waiting.AddLast(request) : _waiting.AddBefore(after, request);
            Serve();
        }
        if (!request.Done.Task.IsCompleted && cancel.CanBeCanceled)
            cancel.Register(() =>
            {
                lock (_lock)
                {
                    if (request.Node?.List is not null)
                    {
                        _waiting.Remove(request.Node);
                        // The ones behind it may fit now.
                        if (!_disposed) Serve();
                    }
                }
                request.Done.TrySetCanceled(cancel);
            });
        return request.Done.Task;
    }

    /// <summary>Gives buffers back for reuse; waiting requests that now fit get theirs.</summary>
    public void Return(IEnumerable<StagingBuffer> buffers)
    {
        lock (_lock)
        {
            foreach (var b in buffers)
            {
                if (_disposed)
                {
                    ((IDisposable)b).Dispose();
                    _allocated -= b.Capacity;
                    continue;
                }
                _rented.Remove(b);
                if (!_free.TryGetValue(b.Capacity, out var stack)) _free[b.Capacity] = stack = new Stack<StagingBuffer>();
                stack.Push(b);
            }
            if (!_disposed) Serve();
        }
    }

    /// <summary>Frees every buffer that is back in the pool; buffers still rented are freed when returned.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            foreach (var b in _free.Values.SelectMany(s => s))
            {
                ((IDisposable)b).Dispose();
                _allocated -= b.Capacity;
            }
            _free.Clear();
            foreach (var w in _waiting) w.Done.TrySetException(new ObjectDisposedException(nameof(StagingPool)));
            _waiting.Clear();
        }
    }

    /// <summary>Hands buffers to waiting requests in order (older steps first) while the first one fits. Called under the lock.</summary>
    private void Serve()
    {
        while (_waiting.First?.Value is { } head)
        {
            if (TryTake(head.Capacities, out var buffers))
            {
                _waiting.RemoveFirst();
                foreach (var b in buffers) _rented[b] = head.Step;
                head.Done.TrySetResult(buffers);
                continue;
            }
            if (_rented.Count == 0 || _rented.Values.Any(s => s != head.Step)) return;
            _waiting.RemoveFirst();
            head.Done.TrySetException(new StagingBudgetException(head.Needed, BudgetBytes,
                $"the node's ranks need more than the budget for step {head.Step} together, and the buffers of that step in use come back only once it is written"));
        }
    }

    private bool TryTake(int[] capacities, out IReadOnlyList<StagingBuffer> buffers)
    {
        buffers = Array.Empty<StagingBuffer>();
        // Free buffers this request can reuse, by size; the rest must be allocated.
        var reusable = capacities.GroupBy(c => c).ToDictionary(g => g.Key, g => Math.Min(g.Count(), _free.GetValueOrDefault(g.Key)?.Count ?? 0));
        var fresh = capacities.GroupBy(c => c).Sum(g => (long)g.Key * (g.Count() - reusable[g.Key]));
        if (BudgetBytes > 0 && _allocated + fresh > BudgetBytes)
        {
            // Free buffers no one here wants are given up to make room, if that is enough.
            var spare = _free.Sum(p => (long)p.Key * (p.Value.Count - reusable.GetValueOrDefault(p.Key)));
            if (_allocated - spare + fresh > BudgetBytes) return false;
            foreach (var (capacity, stack) in _free)
            {
                while (stack.Count > reusable.GetValueOrDefault(capacity) && _allocated + fresh > BudgetBytes)
                {
                    ((IDisposable)stack.Pop()).Dispose();
                    _allocated -= capacity;
                }
            }
        }
        var taken = new List<StagingBuffer>(capacities.Length);
        foreach (var c in capacities)
        {
            if (_free.TryGetValue(c, out var stack) && stack.Count > 0)
            {
                taken.Add(stack.Pop());
                continue;
            }
            taken.Add(new StagingBuffer(c));
            _allocated += c;
            Allocations++;
        }
        buffers = taken;
        return true;
    }
}
