namespace ActorCkpt.Cli;

/// <summary>
/// <c>gc</c>'s part in the memory tier, with the tier on in its configuration: this host's tmpfs
/// files that no committed memory step owns. Those are a killed writer's temporary files and the
/// published copies of memory rounds that never committed. A holder removes them at its next start;
/// gc removes them by the planner's own rule (<see cref="ReplicaInventory"/>), before its own node
/// starts (whose holder would otherwise drop them unreported). No job holds the root then (gc took
/// its lock), so a round the catalog shows in flight is one a crash cut short: its copies go too.
/// Only this host's: each host's replicas are on its own tmpfs.
/// </summary>
internal static class MemoryTierGc
{
    /// <summary>
    /// Removes the memory tier's debris of this host for the root of <paramref name="blobs"/>, judged
    /// against <paramref name="catalog"/> (read with no planner running); null with the tier off.
    /// </summary>
    public static MemoryTierGcDone? Run(IBlobStore blobs, ActorCkptSettings settings, IReadOnlyList<CatalogEntry> catalog)
    {
        if (CheckpointNode.OpenReplicaStore(blobs, settings) is not { } store) return null;
        var temporary = store.RemoveDebris();
        var settled = catalog.Where(e => e.Status != CheckpointStatus.InFlight).ToArray();
        var held = store.List().Held.Select(h => new HeldCopy(h.Step, h.SaveId, h.DataFile)).ToArray();
        var debris = ReplicaInventory.Reconcile(new CheckpointCatalog(new CatalogSnapshot(settled)), store.Host, held, DateTimeOffset.UtcNow).Debris;
        foreach (var step in debris.GroupBy(d => d.Step))
            store.Drop(step.Key, step.Select(d => d.File).ToArray());
        return new MemoryTierGcDone(store.Host, store.Root, temporary, debris.Select(d => $"step {d.Step}: {d.File}").ToArray());
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
