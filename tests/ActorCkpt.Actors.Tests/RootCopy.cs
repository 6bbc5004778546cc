namespace ActorCkpt.Actors.Tests;

/// <summary>A copy of a checkpoint root, as <c>cp -a</c> or a backup would make it.</summary>
internal static class RootCopy
{
    /// <summary>
    /// Copies every file under <paramref name="from"/> to <paramref name="to"/>; a lock file this process
    /// holds is left out, as .NET refuses to copy it (cp copies it, and its lock does not travel).
    /// </summary>
    public static void Make(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories)) Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories).Where(f => Path.GetFileName(f) != CheckpointLayout.CatalogLockFile))
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
    }
}
