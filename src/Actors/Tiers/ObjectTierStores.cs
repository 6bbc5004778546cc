using System.Collections.Concurrent;
using Akka.Actor;

namespace ActorCkpt;

/// <summary>
/// The object tier's root of a node, opened once and shared by its uploads and its ranks' loads
/// (an object store's client holds connections). An open that fails is not kept: the next use tries again.
/// </summary>
internal sealed class ObjectTierStores(ActorSystem system) : IExtension
{
    private readonly ActorSystem _system = system;
    private readonly ConcurrentDictionary<string, CheckpointStore> _open = new(StringComparer.Ordinal);
    private readonly object _opening = new();

    /// <summary>The extension of <paramref name="system"/>.</summary>
    public static ObjectTierStores Get(ActorSystem system) => system.WithExtension<ObjectTierStores, ObjectTierStoresProvider>();

    /// <summary>
    /// Has <paramref name="store"/> stand for the tier at <paramref name="root"/> from now on: for tests that
    /// hold or spoil what the node does in its tier, as a node's own root can be any <see cref="IBlobStore"/>.
    /// </summary>
    internal void Use(string root, CheckpointStore store) => _open[root] = store;

    /// <summary>The checkpoints of the object tier <paramref name="settings"/> name (blocking: opening an object store checks its container).</summary>
    public CheckpointStore Open(ActorCkptSettings settings)
    {
        var root = settings.ObjectTier.Root;
        if (root.Length == 0) throw new ActorCkptException("the step is kept in the object tier only, and this node has none (actorckpt.tiers.object.root is empty)");
        if (_open.TryGetValue(root, out var store)) return store;
        lock (_opening)
        {
            if (_open.TryGetValue(root, out store)) return store;
            // A directory tier is made like a root is; an object store's container only with create-missing.
            if (BlobStores.IsDirectory(root)) Directory.CreateDirectory(root);
            store = new CheckpointStore(BlobStores.Open(root, settings.ObjectStore));
            // Another job's object-store root (a directory tier's is refused at the node's start): its
            // steps would pass for the tier's uploads, and the tier's retention would delete them.
            if (!BlobStores.IsDirectory(root) && ObjectTierRoot.InStore(root, store.Blobs) is { } another) throw new ActorCkptException(another);
            ObjectStoreNoticeLog.Attach(_system, settings.ObjectStore);
            _open[root] = store;
            return store;
        }
    }
}

/// <summary>Makes the <see cref="ObjectTierStores"/> extension.</summary>
internal sealed class ObjectTierStoresProvider : ExtensionIdProvider<ObjectTierStores>
{
    /// <inheritdoc />
    public override ObjectTierStores CreateExtension(ExtendedActorSystem system) => new(system);
}
