using ActorCkpt.Planner;

namespace ActorCkpt.Io;

/// <summary>
/// The last few metadata documents parsed, keyed by their step and the checksum and length of
/// their bytes, so the ranks of a node that load one step parse its document once: concurrent
/// callers with the same key wait for one parse. A key names the exact bytes, so a document
/// rewritten on disk is parsed again, never served stale. A parse that fails is not kept.
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
            if (node is not null)
            {
                _recent.Remove(node);
            }
            else
            {
                node = new LinkedListNode<(string, Lazy<CheckpointMetadata>)>((key, new Lazy<CheckpointMetadata>(parse, LazyThreadSafetyMode.ExecutionAndPublication)));
                if (_recent.Count == capacity) _recent.RemoveLast();
            }
            _recent.AddFirst(node);
            parsed = node.Value.Parsed;
        }
        try
        {
            return parsed.Value;
        }
        catch
        {
            lock (_gate)
            {
                for (var node = _recent.First; node is not null; node = node.Next)
                {
                    if (!ReferenceEquals(node.Value.Parsed, parsed)) continue;
                    _recent.Remove(node);
                    break;
                }
            }
            throw;
        }
    }

    /// <summary>Drops every document held; the next read of each parses it again.</summary>
    public void Clear()
    {
        lock (_gate) _recent.Clear();
    }
}
