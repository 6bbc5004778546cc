namespace ActorCkpt;

/// <summary>
/// How far the copy of a rank's state into its staging buffers has come, so that writers can
/// start a file before the whole state is staged: items are copied in order, and a writer waits
/// (<see cref="WaitFor"/>) only for the items of its own file. Set by the one copy that fills the
/// buffers (<see cref="Advance"/>, then <see cref="Complete"/> or <see cref="Fail"/>), read by any
/// number of writers. Thread-safe.
/// </summary>
internal sealed class StagingProgress
{
    private readonly object _lock = new();
    private int _staged;
    private bool _complete;
    private Exception? _failure;

    /// <summary>Progress of a state staged already (all of it, or nothing to copy).</summary>
    public static StagingProgress Completed()
    {
        var done = new StagingProgress();
        done.Complete();
        return done;
    }

    /// <summary>True once every item is staged.</summary>
    public bool IsComplete
    {
        get { lock (_lock) return _complete; }
    }

    /// <summary>Items 0 to <paramref name="count"/> - 1 are staged.</summary>
    public void Advance(int count)
    {
        lock (_lock)
        {
            if (count <= _staged) return;
            _staged = count;
            Monitor.PulseAll(_lock);
        }
    }

    /// <summary>Every item is staged.</summary>
    public void Complete()
    {
        lock (_lock)
        {
            _complete = true;
            Monitor.PulseAll(_lock);
        }
    }

    /// <summary>The copy failed with <paramref name="cause"/>: whoever waits for an item not staged yet hears it.</summary>
    public void Fail(Exception cause)
    {
        lock (_lock)
        {
            _failure ??= cause;
            Monitor.PulseAll(_lock);
        }
    }

    /// <summary>
    /// Blocks until item <paramref name="item"/> (its position in the rank's local plan) is staged;
    /// throws <see cref="StagingFailedException"/> when the copy failed before it.
    /// </summary>
    public void WaitFor(int item)
    {
        lock (_lock)
        {
            while (!_complete && item >= _staged)
            {
                if (_failure is not null) throw new StagingFailedException(item, _failure);
                Monitor.Wait(_lock);
            }
        }
    }
}
