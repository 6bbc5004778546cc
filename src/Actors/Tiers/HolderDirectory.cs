namespace ActorCkpt;

/// <summary>
/// The planner's record of the replica holders: which holder processes (<typeparamref name="TRef"/>)
/// run on which host, and so which hosts can keep and serve memory copies. A host (a failure domain:
/// a machine) is live while one of its holders is; several processes on one machine share its host
/// and its tmpfs files, so the host outlives any one of them. Pure bookkeeping, like <c>LoadLeases</c>:
/// the actor watches holders and feeds this what it sees.
/// </summary>
/// <typeparam name="TRef">Who holds: an actor reference in the actor, a string in the specs.</typeparam>
internal sealed class HolderDirectory<TRef> where TRef : notnull
{
    private readonly Dictionary<string, List<TRef>> _byHost = new(StringComparer.Ordinal);
    private readonly Dictionary<TRef, string> _hostOf = new();
    private readonly Dictionary<string, long> _budgets = new(StringComparer.Ordinal);
    private readonly HashSet<string> _announced = new(StringComparer.Ordinal);
    // Holders that said they are scanning their store and have not announced what it holds yet.
    private readonly Dictionary<TRef, string> _scanning = new();

    /// <summary>
    /// <paramref name="holder"/> on <paramref name="host"/> started and is scanning its store. True when that
    /// is news (the caller then watches it); a holder already announced is past its scan, so false.
    /// </summary>
    public bool Scanning(string host, TRef holder)
    {
        if (_hostOf.ContainsKey(holder) || _scanning.ContainsKey(holder)) return false;
        _scanning[holder] = host;
        return true;
    }

    /// <summary><paramref name="holder"/> stopped before it announced what it holds: its host, or null when it was not scanning.</summary>
    public string? StoppedScanning(TRef holder) => _scanning.Remove(holder, out var host) ? host : null;

    /// <summary>Whether a holder on <paramref name="host"/> is scanning its store: the host is there, not yet live.</summary>
    public bool IsScanning(string host) => _scanning.ContainsValue(host);

    /// <summary>The holders still scanning, with their hosts.</summary>
    public IReadOnlyList<(TRef Holder, string Host)> ScanningHolders => _scanning.Select(p => (p.Key, p.Value)).ToArray();

    /// <summary>
    /// <paramref name="holder"/> on <paramref name="host"/> announced itself with a budget of
    /// <paramref name="budgetBytes"/>. True when the host was not live before (its copies may be back);
    /// a holder that announces again changes nothing but the budget. A holder cannot move to another host.
    /// </summary>
    public bool Register(string host, TRef holder, long budgetBytes)
    {
        if (_hostOf.TryGetValue(holder, out var known) && known != host)
            throw new ArgumentException($"holder {holder} announced host '{host}', but it is on '{known}'", nameof(host));
        if (budgetBytes <= 0) throw new ArgumentOutOfRangeException(nameof(budgetBytes), budgetBytes, $"host '{host}': a memory budget must be positive");
        _budgets[host] = budgetBytes;
        _announced.Add(host);
        _scanning.Remove(holder);
        if (known is not null) return false;
        _hostOf[holder] = host;
        if (!_byHost.TryGetValue(host, out var holders)) _byHost[host] = holders = new List<TRef>();
        holders.Add(holder);
        return holders.Count == 1;
    }

    /// <summary><paramref name="holder"/> stopped (terminated, or its node left): the host it was the last live holder of, or null.</summary>
    public string? Lost(TRef holder)
    {
        if (!_hostOf.Remove(holder, out var host)) return null;
        var holders = _byHost[host];
        holders.Remove(holder);
        if (holders.Count > 0) return null;
        _byHost.Remove(host);
        return host;
    }

    /// <summary>Whether a holder on <paramref name="host"/> is live.</summary>
    public bool IsLive(string host) => _byHost.ContainsKey(host);

    /// <summary>
    /// Whether a holder on <paramref name="host"/> ever announced itself here, live or not: a host that
    /// did and is gone was seen to go (lost or left on purpose), so it is not waited for as a silent one.
    /// </summary>
    public bool HasAnnounced(string host) => _announced.Contains(host);

    /// <summary>The live hosts, in ordinal order.</summary>
    public IReadOnlyList<string> LiveHosts => _byHost.Keys.Order(StringComparer.Ordinal).ToArray();

    /// <summary>The live holders on <paramref name="host"/>, first announced first; none when the host is not live.</summary>
    public IReadOnlyList<TRef> HoldersOn(string host) => _byHost.TryGetValue(host, out var holders) ? holders.ToArray() : Array.Empty<TRef>();

    /// <summary>The host of <paramref name="holder"/>, or null when it is not a live holder.</summary>
    public string? HostOf(TRef holder) => _hostOf.GetValueOrDefault(holder);

    /// <summary>The last budget each live host announced, in bytes.</summary>
    public IReadOnlyDictionary<string, long> Budgets => _byHost.Keys.ToDictionary(h => h, h => _budgets[h], StringComparer.Ordinal);
}
