namespace ActorCkpt;

/// <summary>
/// Wraps a store and spoils chosen file writes as its <see cref="FaultPolicy"/> objects say (fail,
/// delay, corrupt, block, fill the disk), for tests of retries and clean failure. Each create is
/// shown to every policy in order; reads and everything else pass through. Disposed with the node
/// that writes through it: a write held or delayed then fails, and no later file is created, so
/// nothing lands in the root once that node is gone (a gate opened after the test).
/// </summary>
internal sealed class FaultInjectingBlobStore : DelegatingBlobStore, IDisposable
{
    private readonly Func<IReadOnlyList<FaultPolicy>> _policies;
    private readonly CancellationTokenSource _stopped = new();

    /// <summary>A store that applies <paramref name="policies"/>.</summary>
    public FaultInjectingBlobStore(IBlobStore inner, params FaultPolicy[] policies)
        : this(inner, () => policies)
    {
        if (policies.Length == 0) throw new ArgumentException("give at least one fault policy", nameof(policies));
    }

    /// <summary>A store that applies, at each create, the policies <paramref name="policies"/> returns then (policies may be added while it runs).</summary>
    public FaultInjectingBlobStore(IBlobStore inner, Func<IReadOnlyList<FaultPolicy>> policies)
        : base(inner) => _policies = policies;

    /// <summary>The first policy in force (its counters tell how many writes were seen).</summary>
    public FaultPolicy Policy => _policies()[0];

    /// <inheritdoc />
    public override IBlobWriter Create(string path)
    {
        var spoilers = new List<Func<IBlobWriter, IBlobWriter>>();
        try
        {
            if (_stopped.IsCancellationRequested) throw Stopped(path);
            foreach (var policy in _policies())
                if (policy.Admit(path, _stopped.Token) is { } spoil) spoilers.Add(spoil);
        }
        catch (OperationCanceledException) when (_stopped.IsCancellationRequested)
        {
            throw Stopped(path);
        }
        var writer = Inner.Create(path);
        foreach (var spoil in spoilers) writer = spoil(writer);
        return writer;
    }

    /// <summary>The node writing through this store stopped: held and delayed writes fail now, later ones at once.</summary>
    public void Dispose() => _stopped.Cancel();

    private static IOException Stopped(string path) => new($"'{path}': the node writing through these storage faults has stopped");
}
