namespace ActorCkpt;

/// <summary>What is wrong with a path given as a local checkpoint directory, before anything opens it.</summary>
internal static class LocalRoot
{
    /// <summary>
    /// Null when <paramref name="dir"/> is a directory (or an object-store root, checked elsewhere);
    /// otherwise one line: it does not exist, or it is a file, a FIFO or the like, not a directory.
    /// </summary>
    public static string? Problem(string dir)
    {
        if (ObjectRoot.ForeignUri(dir) is { } foreign) return foreign;
        if (!BlobStores.IsDirectory(dir) || Directory.Exists(dir)) return null;
        return RegularFile.Kind(dir) switch
        {
            FileKind.Missing => $"'{dir}' does not exist",
            FileKind.Regular => $"'{dir}' is a file, not a directory",
            var kind => $"'{dir}' is {NotARegularFileException.Describe(kind)}, not a directory",
        };
    }

    /// <summary>
    /// Null unless <paramref name="dir"/> is, or lies inside, a step directory or the memory-tier
    /// directory of another checkpoint root (a directory with <see cref="CheckpointLayout.RootIdFile"/>) or
    /// a step directory of an object tier (<see cref="CheckpointLayout.ObjectTierMarkerFile"/>):
    /// then one line naming both. A root there would write its catalog and steps into a committed
    /// checkpoint, and that root's checks and retention would meet them.
    /// </summary>
    public static string? InsideAnotherRoot(string dir)
    {
        var full = Path.GetFullPath(dir);
        for (var at = new DirectoryInfo(full); at.Parent is { } parent; at = parent)
        {
            if (NestedRoot.OwnedFolder(at.Name) is { } folder && NestedRoot.Owner(file => File.Exists(Path.Combine(parent.FullName, file))) is { } owner)
                return NestedRoot.Problem(full, folder, at.Name, owner, parent.FullName);
        }
        return null;
    }
}
