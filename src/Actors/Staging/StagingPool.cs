namespace ActorCkpt.Actors;

/// <summary>
/// Reusable staging buffers of one rank. Sizes are rounded up to 64 KiB so the same model state
/// finds the same buffers on every save: after the first save, staging allocates nothing.
/// Thread-safe.
/// </summary>
public sealed class StagingPool : IDisposable
{
    private const int Granularity = 64 << 10;
    private readonly Dictionary<int, Stack<StagingBuffer>> _free = new();
    private readonly object _lock = new();
    private long _allocated;
    private bool _disposed;

    /// <summary>Bytes of native memory the pool holds (rented and free).</summary>
    public long AllocatedBytes
    {
        get { lock (_lock) return _allocated; }
    }

    /// <summary>Number of buffers ever allocated.</summary>
    public int Allocations { get; private set; }

    /// <summary>A buffer of at least <paramref name="length"/> bytes.</summary>
    public StagingBuffer Rent(long length)
    {
        if (length < 0 || length > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(length), length, "staging buffers hold 0 to 2 GiB");
        var capacity = length == 0 ? 0 : (int)Math.Min(int.MaxValue, (length + Granularity - 1) / Granularity * Granularity);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_free.TryGetValue(capacity, out var stack) && stack.Count > 0) return stack.Pop();
            _allocated += capacity;
            Allocations++;
        }
        return new StagingBuffer(capacity);
    }

    /// <summary>Gives buffers back for reuse.</summary>
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
        }
    }
}
