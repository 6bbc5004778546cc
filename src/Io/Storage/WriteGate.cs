namespace ActorCkpt;

/// <summary>
/// Where writes held by <see cref="WriteFault.Block"/> wait: closed until <see cref="Open"/>, after
/// which every write passes. <see cref="Entered"/> completes when the first write waits at it.
/// </summary>
internal sealed class WriteGate
{
    private readonly TaskCompletionSource<string> _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ManualResetEventSlim _open = new();

    /// <summary>Completes, with the path of the file, when the first write waits at the gate.</summary>
    public Task<string> Entered => _entered.Task;

    /// <summary>True once <see cref="Open"/> was called.</summary>
    public bool IsOpen => _open.IsSet;

    /// <summary>Lets every waiting write, and all later ones, go through.</summary>
    public void Open() => _open.Set();

    /// <summary>
    /// Waits until the gate is open (at once when it is); called by the write of <paramref name="path"/>.
    /// Throws <see cref="OperationCanceledException"/> when <paramref name="stop"/> (the store's life) ends first.
    /// </summary>
    public void Pass(string path, CancellationToken stop = default)
    {
        if (_open.IsSet) return;
        _entered.TrySetResult(path);
        _open.Wait(stop);
    }
}
