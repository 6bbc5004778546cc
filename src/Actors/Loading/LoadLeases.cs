using Akka.Actor;

namespace ActorCkpt;

/// <summary>The planner's record of which ranks are loading which steps: a leased step is never deleted.</summary>
internal sealed class LoadLeases
{
    private readonly Dictionary<long, Dictionary<IActorRef, int>> _byStep = new();

    /// <summary>Records a lease of <paramref name="step"/> by <paramref name="holder"/>; true when the holder had none before (watch it).</summary>
    public bool Acquire(long step, IActorRef holder)
    {
        var isNew = !_byStep.Values.Any(h => h.ContainsKey(holder));
        if (!_byStep.TryGetValue(step, out var holders)) _byStep[step] = holders = new Dictionary<IActorRef, int>();
        holders[holder] = holders.GetValueOrDefault(holder) + 1;
        return isNew;
    }

    /// <summary>Ends one lease of <paramref name="step"/> by <paramref name="holder"/>; returns the step when no lease holds it any more.</summary>
    public IEnumerable<long> Release(long step, IActorRef holder)
    {
        if (!_byStep.TryGetValue(step, out var holders) || !holders.TryGetValue(holder, out var n)) return Array.Empty<long>();
        if (n > 1) holders[holder] = n - 1;
        else holders.Remove(holder);
        if (holders.Count > 0) return Array.Empty<long>();
        _byStep.Remove(step);
        return new[] { step };
    }

    /// <summary>Ends every lease of <paramref name="holder"/> (it stopped); returns the steps no lease holds any more.</summary>
    public IEnumerable<long> ReleaseAll(IActorRef holder)
    {
        var freed = new List<long>();
        foreach (var (step, holders) in _byStep.ToList())
        {
            if (!holders.Remove(holder) || holders.Count > 0) continue;
            _byStep.Remove(step);
            freed.Add(step);
        }
        return freed;
    }

    /// <summary>True when <paramref name="holder"/> holds a lease on <paramref name="step"/>.</summary>
    public bool Holds(long step, IActorRef holder) => _byStep.TryGetValue(step, out var holders) && holders.ContainsKey(holder);

    /// <summary>True while some rank is loading <paramref name="step"/>.</summary>
    public bool IsHeld(long step) => _byStep.ContainsKey(step);
}
