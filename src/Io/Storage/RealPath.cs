namespace ActorCkpt;

/// <summary>
/// A path with every symbolic link along it resolved, as realpath(3) gives: for checks of where a
/// user's path really leads (an output folder that a link puts inside a checkpoint's step).
/// </summary>
internal static class RealPath
{
    private const int MaxLinks = 40; // as Linux's ELOOP bound

    /// <summary>
    /// <paramref name="path"/> made absolute with its links resolved; the part that does not exist yet
    /// (or lies past a link to nothing, or past too many links) is kept as given.
    /// </summary>
    public static string Of(string path) => Of(Path.TrimEndingDirectorySeparator(Path.GetFullPath(path)), 0);

    private static string Of(string full, int links)
    {
        var parts = full.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        var at = Path.GetPathRoot(full) ?? "/";
        for (var i = 0; i < parts.Length; i++)
        {
            var next = Path.Combine(at, parts[i]);
            FileSystemInfo? target;
            try
            {
                target = new FileInfo(next).LinkTarget is null ? null : File.ResolveLinkTarget(next, returnFinalTarget: true);
            }
            catch (IOException)
            {
                target = null; // a cycle, or a link we may not read: taken as it is
            }
            if (target is not null && links < MaxLinks)
                next = Of(Path.TrimEndingDirectorySeparator(target.FullName), links + 1);
            at = next;
        }
        return at;
    }
}
