using System.Collections.Concurrent;

namespace ActorCkpt;

/// <summary>
/// A memory load's reads of one step, each from the first holder of its file that serves it: the
/// own host's copy from its tmpfs store, others through their readers. A holder that fails is not
/// tried again for that file in this load; one whose copy fails its checksum, or is gone, is reported
/// (the planner marks that copy lost). Only when every holder of a file failed does the read fail,
/// naming each one's cause.
/// </summary>
internal sealed class HolderReads(long step, MemoryLoadSource source) : IDisposable
{
    private readonly DataFileReaders _local = new(f => source.Local!.OpenRead(step, f));
    private readonly ConcurrentDictionary<(string File, string Host), string> _failed = new();
    private readonly Dictionary<string, HolderNode[]> _holders = source.Holders.ToDictionary(h => h.File, h => h.Nodes, StringComparer.Ordinal);
    private long _fromPeers;

    /// <summary>Bytes that came from other hosts.</summary>
    public long BytesFromPeers => Interlocked.Read(ref _fromPeers);

    /// <summary>
    /// Reads a range of <paramref name="length"/> bytes of <paramref name="file"/>:
    /// <paramref name="local"/> from the own host's copy, <paramref name="remote"/> from another
    /// holder's node, each of which reads, lands and verifies the bytes; tries the next holder when one fails.
    /// </summary>
    public async ValueTask ReadAsync(string file, long length, Action<IBlobReader> local, Func<string, ValueTask> remote, CancellationToken cancellation)
    {
        if (!_holders.TryGetValue(file, out var nodes) || nodes.Length == 0)
            throw new ActorCkptException($"step {step}: no holder of '{file}' is known to this load");
        foreach (var node in nodes)
        {
            if (_failed.ContainsKey((file, node.Host))) continue;
            cancellation.ThrowIfCancellationRequested();
            try
            {
                if (node.Host == source.OwnHost && source.Local is not null)
                {
                    local(_local.For(file));
                }
                else
                {
                    await remote(node.Address);
                    Interlocked.Add(ref _fromPeers, length);
                }
                return;
            }
            // The holder's copy is bad or gone (deleted from its tmpfs under a live holder): the planner marks it lost, so
            // that the step stops counting it, and loads go to another step once no holder of a file is left.
            catch (Exception e) when (e is ChecksumMismatchException || ReaderActor.CopyGone(e))
            {
                if (_failed.TryAdd((file, node.Host), e.Message)) source.Refused(new ReplicaRefused(step, file, node.Host, e.Message));
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellation.IsCancellationRequested)
            {
                _failed.TryAdd((file, node.Host), ErrorText.Of(e));
            }
        }
        throw new ActorCkptException($"step {step}: no holder could serve '{file}' from memory: " +
            string.Join("; ", nodes.Select(n => $"{n.Host}: {_failed.GetValueOrDefault((file, n.Host), "not tried")}")));
    }

    /// <inheritdoc />
    public void Dispose() => _local.Dispose();
}
