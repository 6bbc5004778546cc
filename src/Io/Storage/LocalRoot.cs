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
        if (!BlobStores.IsDirectory(dir) || Directory.Exists(dir)) return null;
        return RegularFile.Kind(dir) switch
        {
            FileKind.Missing => $"'{dir}' does not exist",
            FileKind.Regular => $"'{dir}' is a file, not a directory",
            var kind => $"'{dir}' is {NotARegularFileException.Describe(kind)}, not a directory",
        };
    }
}
