namespace ActorCkpt.Actors;

/// <summary>
/// Reusable staging buffers of one node, within a budget of host memory. Sizes are rounded up to
/// 64 KiB so the same model state finds the same buffers on every save: after the first save,
/// staging allocates nothing. A save rents all its buffers at once or waits, first in first out,
/// until saves in flight give enough back (free buffers of other sizes are freed to make room);
/// it never allocates past the budget. Thread-safe.
/// </summary>
public sealed class StagingPool : IDisposable
{
    private const int Granularity = 64 << 10;
    private readonly Dictionary<int, Stack<StagingBuffer>> _free = new();
    private readonly Queue<(int[] Capacities, TaskCompletionSource<IReadOnlyList<StagingBuffer>> Done)> _waiting = new();
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

    /// <summary>A buffer of at least <paramref name="length"/> bytes, now; past the budget it throws instead of waiting.</summary>
    public StagingBuffer Rent(long length)
    {
        var task = RentAllAsync(new[] { length });
        if (!task.IsCompleted)
            throw new InvalidOperationException($"a staging buffer of {length} bytes does not fit in the budget of {BudgetBytes} bytes now");
        return task.Result[0];
    }

    /// <summary>
    /// Buffers for every length in <paramref name="lengths"/>, all at once: completes at once when
    /// they fit in the budget, otherwise when enough comes back. Throws
    /// <see cref="StagingBudgetException"/> when they could never fit.
    /// </summary>
    public Task<IReadOnlyList<StagingBuffer>> RentAllAsync(IReadOnlyList<long> lengths)
    {
        var capacities = lengths.Select(CapacityFor).ToArray();
        var needed = capacities.Sum(c => (long)c);
        if (BudgetBytes > 0 && needed > BudgetBytes) throw new StagingBudgetException(needed, BudgetBytes);
        var done = new TaskCompletionSource<IReadOnlyList<StagingBuffer>>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _waiting.Enqueue((capacities, done));
            Serve();
        }
        return done.Task;
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
                    continue;
                }
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
            foreach (var b in _free.Values.SelectMany(s => s)) ((IDisposable)b).Dispose();
            _free.Clear();
            while (_waiting.TryDequeue(out var w)) w.Done.TrySetException(new ObjectDisposedException(nameof(StagingPool)));
        }
    }

    /// <summary>Hands buffers to waiting requests in order while the first one fits. Called under the lock.</summary>
    private void Serve()
    {
        while (_waiting.TryPeek(out var head) && TryTake(head.Capacities, out var buffers))
        {
            _waiting.Dequeue();
            head.Done.TrySetResult(buffers);
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
