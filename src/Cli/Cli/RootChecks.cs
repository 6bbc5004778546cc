namespace ActorCkpt.Cli;

/// <summary>
/// What commands check of their directories before they open anything: the commands that only
/// read a root (<c>ls</c>, <c>demo --check</c>) or tidy one (<c>gc</c>) need a root a planner
/// made, as opening a catalog that is absent would create one (SQLite makes a missing database
/// file, a planner its root, lock and catalog); the commands that save need a directory, not a file.
/// </summary>
internal static class RootChecks
{
    /// <summary>Throws naming <paramref name="root"/> unless it exists and a planner has made its catalog there.</summary>
    public static void RequireCatalog(string root)
    {
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"'{root}' does not exist");
        if (!File.Exists(Path.Combine(root, CheckpointLayout.RootIdFile)))
            throw new ActorCkptException($"'{root}' has no catalog ({CheckpointLayout.RootIdFile} is missing): no planner has run there");
    }

    /// <summary>Throws unless the SQLite catalog file of <paramref name="root"/> exists (a catalog on a server is not checked here).</summary>
    public static void RequireCatalogFile(string root, string provider)
    {
        if (provider == "SQLite.MS" && !File.Exists(Path.Combine(root, CheckpointLayout.CatalogFile)))
            throw new ActorCkptException($"'{root}' has no catalog ({CheckpointLayout.CatalogFile} is missing; actorckpt gc ROOT makes a new one)");
    }

    /// <summary>Throws naming <paramref name="dir"/> when it is something other than a directory (a directory that is not there yet is made by the save).</summary>
    public static void NotAFile(string dir, string flag)
    {
        if (File.Exists(dir) || (Path.Exists(dir) && !Directory.Exists(dir)))
            throw new IOException($"{flag} '{dir}' is not a directory");
    }
}
