namespace ActorCkpt.Cli;

/// <summary>
/// <c>gc</c>'s part in the memory tier, with the tier on in its configuration: this host's tmpfs
/// files that no committed memory step owns. Those are a killed writer's temporary files and the
/// published copies of memory rounds that never committed. A holder removes them at its next start;
/// gc removes them now, by the planner's own rule (<see cref="ReplicaInventory"/>). Only this host's:
/// each host's replicas are on its own tmpfs, out of reach of a process on another machine.
/// </summary>
internal sealed class MemoryTierGc
{
    private readonly ReplicaStore _store;
    private readonly int _temporary;

    private MemoryTierGc(ReplicaStore store, int temporary) => (_store, _temporary) = (store, temporary);

    /// <summary>
    /// Opens the host's replica store for the root of <paramref name="blobs"/> and removes the temporary
    /// files of writers that are gone; null with the memory tier off. Call before the node starts, whose
    /// holder would otherwise remove them unreported.
    /// </summary>
    public static MemoryTierGc? Begin(IBlobStore blobs, ActorCkptSettings settings) =>
        CheckpointNode.OpenReplicaStore(blobs, settings) is { } store ? new MemoryTierGc(store, store.RemoveDebris()) : null;

    /// <summary>
    /// Drops the published copies no committed memory step of <paramref name="catalog"/> owns, once the
    /// planner has settled the catalog (a round a crash cut short is aborted there), and says what went.
    /// </summary>
    public MemoryTierGcDone Finish(IReadOnlyList<CatalogEntry> catalog)
    {
        var held = _store.List().Held.Select(h => new HeldCopy(h.Step, h.SaveId, h.DataFile)).ToArray();
        var debris = ReplicaInventory.Reconcile(new CheckpointCatalog(new CatalogSnapshot(catalog)), _store.Host, held, DateTimeOffset.UtcNow).Debris;
        // The node's own holder may drop the same copies meanwhile, as the planner tells it: a drop of a copy gone is nothing.
        foreach (var step in debris.GroupBy(d => d.Step))
            _store.Drop(step.Key, step.Select(d => d.File).ToArray());
        return new MemoryTierGcDone(_store.Host, _store.Root, _temporary, debris.Select(d => $"step {d.Step}: {d.File}").ToArray());
    }
}

/// <summary>What <see cref="MemoryTierGc"/> removed on host <paramref name="Host"/> (its replicas under <paramref name="Directory"/>).</summary>
internal sealed record MemoryTierGcDone(string Host, string Directory, int TemporaryFiles, IReadOnlyList<string> CopiesDropped)
{
    /// <summary>The report's line.</summary>
    public string Line =>
        TemporaryFiles == 0 && CopiesDropped.Count == 0
            ? $"memory tier (host '{Host}'): no debris"
            : $"memory tier (host '{Host}'): removed {TemporaryFiles} temporary file(s) of writers that are gone and {CopiesDropped.Count} cop{(CopiesDropped.Count == 1 ? "y" : "ies")} of steps not committed in memory";
}
