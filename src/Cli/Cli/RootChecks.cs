namespace ActorCkpt.Cli;

/// <summary>
/// What commands check of their directories before they open anything: the commands that only
/// read a root (<c>ls</c>, <c>demo --check</c>) or tidy one (<c>gc</c>) need a root a planner
/// made, as opening a catalog that is absent would create one (SQLite makes a missing database
/// file, a planner its root, lock and catalog); the commands that save need a directory, not a file.
/// </summary>
internal static class RootChecks
{
    /// <summary>
    /// Throws naming <paramref name="root"/> unless it exists and a planner has made its catalog there
    /// (an object-store root is reached as <paramref name="node"/>, or the defaults and the environment, say).
    /// </summary>
    /// <remarks>
    /// A root without an id that holds ActorCkpt steps lost its catalog: with <paramref name="orCommittedSteps"/>
    /// (a catalog rebuild, which gives it one) it passes; the other commands say so. A folder whose step-like
    /// directories hold no ActorCkpt metadata is no root either way.
    /// </remarks>
    public static void RequireCatalog(string root, Akka.Configuration.Config? node = null, bool orCommittedSteps = false)
    {
        if (LocalRoot.Problem(root) is { } problem) throw new DirectoryNotFoundException(problem);
        node ??= NodeConfig.Build();
        if (RootStore.HasRootId(root, node)) return;
        var store = new CheckpointStore(RootStore.Open(root, node));
        // A rebuild would make it a root of its own, which would take its owner's uploads for its own steps.
        if (store.ObjectTierOf() is { } owner)
            throw new ActorCkptException(ObjectTierRoot.OfAnotherRoot(root, owner) + ": it has no catalog of its own; list and tidy its steps through that root (verify, inspect, export and unshard read them here)");
        var holdsSteps = HoldsSteps(store);
        if (holdsSteps && orCommittedSteps) return;
        // An object store's root without a catalog or a marker may be an object tier uploaded to before tiers were marked.
        var tier = ObjectRoot.IsObjectRoot(root)
            ? $"; if it is another root's object tier (actorckpt.tiers.object.root), read its steps through that root instead (a rebuild would make it a root of its own, and stop that root's uploads)"
            : "";
        throw new ActorCkptException(holdsSteps
            ? $"'{root}' has no catalog ({CheckpointLayout.RootIdFile} is missing), though it holds committed steps: actorckpt catalog rebuild ROOT gives it one{tier}"
            : $"'{root}' has no catalog ({CheckpointLayout.RootIdFile} is missing): no planner has run there");
    }

    /// <summary>Whether one of the committed steps under <paramref name="store"/> has metadata that reads as ActorCkpt's.</summary>
    private static bool HoldsSteps(CheckpointStore store)
    {
        foreach (var step in store.CommittedSteps().Reverse())
        {
            try
            {
                store.ReadMetadata(step);
                return true;
            }
            catch (Exception e) when (e is CheckpointFormatException or IOException or UnauthorizedAccessException)
            {
            }
        }
        return false;
    }

    /// <summary>
    /// Throws naming the SQLite catalog file of <paramref name="root"/> unless it is a SQLite
    /// database: a regular file (not a link: <see cref="CatalogFile"/>) that starts with SQLite's
    /// header and passes SQLite's own quick check; when <paramref name="required"/>, also when it is
    /// missing. A catalog on a server is not checked here. Opening a damaged file would hang the
    /// journal's start for a minute, and a FIFO in its place forever: both are refused at once (a
    /// FIFO or device has length 0, so it is never opened).
    /// </summary>
    public static void CheckCatalogFile(string root, Akka.Configuration.Config config, bool required)
    {
        var (provider, connection) = ActorCkptConfig.CatalogConnection(config, root);
        if (provider != "SQLite.MS") return;
        var file = new FileInfo(RootStore.CatalogFile(root, config)!);
        if (!file.Exists && !ObjectRoot.IsObjectRoot(root) && CatalogFile.KeptElsewhere(config, new LocalBlobStore(root)) is { } elsewhere) throw new ActorCkptException(elsewhere);
        if (!file.Exists)
        {
            if (required) throw new ActorCkptException($"'{root}' has no catalog ({CheckpointLayout.CatalogFile} is missing; actorckpt gc ROOT makes a new one)");
            return;
        }
        // Empty, it holds nothing, and a planner takes it as new (as a missing one); otherwise it is damage, which a rebuild repairs.
        if (file.Length == 0)
            throw new ActorCkptException($"'{file.FullName}' is empty (0 bytes): the catalog records nothing; actorckpt gc ROOT makes a new one, as for a missing catalog");
        if (file.Length < SqliteHeaderBytes || !StartsWithSqliteMagic(file))
            throw new ActorCkptException($"'{file.FullName}' is not a SQLite database ({file.Length} bytes, no SQLite header): the catalog is damaged; " +
                                         $"a new one is made from the checkpoints on disk, verifying each, by: {ActorCkptConfig.RebuildCommand(config, root)}");
        CatalogFile.Verify(connection, ActorCkptConfig.RebuildCommand(config, root));
    }

    /// <summary>The size of a SQLite database file's header; a real database is at least one page.</summary>
    private const int SqliteHeaderBytes = 100;

    private static bool StartsWithSqliteMagic(FileInfo file)
    {
        var magic = "SQLite format 3\0"u8;
        Span<byte> head = stackalloc byte[16];
        using var stream = new FileStream(file.FullName, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false) == head.Length && head.SequenceEqual(magic);
    }

    /// <summary>Throws naming <paramref name="dir"/> when it is something other than a directory (a directory that is not there yet is made by the save).</summary>
    public static void NotAFile(string dir, string flag)
    {
        if (BlobStores.IsDirectory(dir) && (File.Exists(dir) || (Path.Exists(dir) && !Directory.Exists(dir)))
)
            throw new IOException($"{flag} '{dir}' is not a directory");
    }
}
