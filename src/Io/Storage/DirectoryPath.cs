namespace ActorCkpt;

/// <summary>Whether a directory can be at a path that may not exist yet.</summary>
internal static class DirectoryPath
{
    /// <summary>
    /// Null when <paramref name="path"/> is a directory (links followed) or could be made as one;
    /// otherwise one line naming the path, or the part of it, that is a file or another non-directory.
    /// <see cref="Directory.CreateDirectory(string)"/> says only "could not find a part of the path" then.
    /// </summary>
    public static string? InTheWay(string path)
    {
        for (var d = Path.GetFullPath(path); d is not null && !Directory.Exists(d); d = Path.GetDirectoryName(d))
            if (RegularFile.Kind(d) is var kind and not FileKind.Missing)
                return $"'{d}' is {NotARegularFileException.Describe(kind)}, not a directory";
        return null;
    }
}
