namespace ActorCkpt;

/// <summary>
/// The tokens a node's bulk server admits: each expected once, for a while, with what the transfer
/// it admits is to do (<typeparamref name="T"/>). Redeeming a token removes it, so a second use is
/// refused; the last tokens redeemed or withdrawn are remembered so the refusal can say "already
/// used" rather than "unknown". Thread-safe; the clock is a parameter so the rules are testable.
/// </summary>
/// <typeparam name="T">What an admitted transfer does (a sink for a push, a source for a fetch).</typeparam>
internal sealed class TransferAdmission<T> where T : class
{
    /// <summary>How many used tokens are remembered for the "already used" refusal.</summary>
    private const int Remembered = 4096;

    private readonly object _gate = new();
    private readonly Func<long> _now;
    private readonly Dictionary<TransferToken, (T Handler, long Until)> _expected = new();
    private readonly HashSet<TransferToken> _used = new();
    private readonly Queue<TransferToken> _usedOrder = new();
    private readonly Action<T> _expired;

    /// <summary>
    /// Creates the admission; <paramref name="expired"/> hears each handler whose token expired unused
    /// (outside the lock), <paramref name="now"/> gives the time in ticks of <see cref="TimeSpan"/>
    /// (default: the process's monotonic clock).
    /// </summary>
    public TransferAdmission(Action<T>? expired = null, Func<long>? now = null)
    {
        _expired = expired ?? (_ => { });
        _now = now ?? (() => Environment.TickCount64 * TimeSpan.TicksPerMillisecond);
    }

    /// <summary>Tokens expected and not yet redeemed, withdrawn or expired (expired ones are dropped as they are met).</summary>
    public int Count
    {
        get { lock (_gate) return _expected.Count; }
    }

    /// <summary>Expects <paramref name="token"/> for <paramref name="ttl"/>; a token already expected or used is refused with <see cref="ArgumentException"/>.</summary>
    public void Expect(TransferToken token, T handler, TimeSpan ttl)
    {
        lock (_gate)
        {
            if (_expected.ContainsKey(token) || _used.Contains(token))
                throw new ArgumentException($"transfer token {token} is already expected or used", nameof(token));
            _expected[token] = (handler, _now() + ttl.Ticks);
        }
        Sweep();
    }

    /// <summary>
    /// Admits <paramref name="token"/> once: its handler, or null with <paramref name="refusal"/>
    /// saying why (unknown, already used, expired).
    /// </summary>
    public T? Redeem(TransferToken token, out string refusal)
    {
        (T Handler, long Until) entry;
        lock (_gate)
        {
            if (!_expected.Remove(token, out entry))
            {
                refusal = _used.Contains(token) ? $"transfer token {token} was already used" : $"transfer token {token} is unknown";
                return null;
            }
            Remember(token);
            if (entry.Until >= _now())
            {
                refusal = "";
                return entry.Handler;
            }
        }
        refusal = $"transfer token {token} expired";
        _expired(entry.Handler);
        return null;
    }

    /// <summary>Stops expecting <paramref name="token"/> (the transfer was given up); its handler, or null when it was not expected.</summary>
    public T? Withdraw(TransferToken token)
    {
        lock (_gate)
        {
            if (!_expected.Remove(token, out var entry)) return null;
            Remember(token);
            return entry.Handler;
        }
    }

    private void Remember(TransferToken token)
    {
        if (!_used.Add(token)) return;
        _usedOrder.Enqueue(token);
        if (_usedOrder.Count > Remembered) _used.Remove(_usedOrder.Dequeue());
    }

    /// <summary>Stops expecting every token; their handlers, for the caller to close.</summary>
    public IReadOnlyList<T> Drain()
    {
        lock (_gate)
        {
            var handlers = _expected.Values.Select(e => e.Handler).ToList();
            foreach (var token in _expected.Keys) Remember(token);
            _expected.Clear();
            return handlers;
        }
    }

    /// <summary>Drops the tokens that expired unused, telling <c>expired</c> of each handler.</summary>
    public void Sweep()
    {
        List<T> expired;
        lock (_gate)
        {
            var now = _now();
            expired = new List<T>();
            foreach (var (token, entry) in _expected.Where(e => e.Value.Until < now).ToArray())
            {
                _expected.Remove(token);
                Remember(token);
                expired.Add(entry.Handler);
            }
        }
        foreach (var handler in expired) _expired(handler);
    }
}
