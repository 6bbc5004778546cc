
namespace ActorCkpt;

/// <summary>
/// The last few metadata documents parsed, keyed by their step and the checksum and length of
/// their bytes, so the ranks of a node that load one step parse its document once: concurrent
/// callers with the same key wait for one parse. A key names the exact bytes, so a document
/// rewritten on disk is parsed again, never served stale. A document makes room for itself only
/// once it is parsed, so one that fails to parse displaces none.
/// </summary>
internal sealed class ParsedMetadataCache(int capacity)
{
    private readonly object _gate = new();
    private readonly LinkedList<(string Key, Lazy<CheckpointMetadata> Parsed)> _recent = new();

    /// <summary>The document under <paramref name="key"/>, parsed by <paramref name="parse"/> unless it is held.</summary>
    public CheckpointMetadata GetOrParse(string key, Func<CheckpointMetadata> parse)
    {
        Lazy<CheckpointMetadata> parsed;
        lock (_gate)
        {
            var node = _recent.First;
            while (node is not null && node.Value.Key != key) node = node.Next;
            if (node is null) node = new LinkedListNode<(string, Lazy<CheckpointMetadata>)>((key, new Lazy<CheckpointMetadata>(parse, LazyThreadSafetyMode.ExecutionAndPublication)));
            else _recent.Remove(node);
            _recent.AddFirst(node);
            parsed = node.Value.Parsed;
        }
        CheckpointMetadata metadata;
        try
        {
            metadata = parsed.Value;
        }
        catch
        {
            lock (_gate) Remove(parsed);
            throw;
        }
        lock (_gate) TrimKeeping(parsed);
        return metadata;
    }

    /// <summary>Drops every document held; the next read of each parses it again.</summary>
    public void Clear()
    {
        lock (_gate) _recent.Clear();
    }

    /// <summary>Removes the entry whose parse failed.</summary>
    private void Remove(Lazy<CheckpointMetadata> failed)
    {
        for (var node = _recent.First; node is not null; node = node.Next)
        {
            if (!ReferenceEquals(node.Value.Parsed, failed)) continue;
            _recent.Remove(node);
            return;
        }
    }

    /// <summary>Drops the least recently used entries other than <paramref name="keep"/> while more than the capacity are held.</summary>
    private void TrimKeeping(Lazy<CheckpointMetadata> keep)
    {
        for (var node = _recent.Last; node is not null && _recent.Count > capacity;)
        {
            var previous = node.Previous;
            if (!ReferenceEquals(node.Value.Parsed, keep)) _recent.Remove(node);
            node = previous;
        }
    }
}
