namespace ActorCkpt.Cli.Bench;

/// <summary>
/// The folders a bench writes under its <c>--dir</c> and removes at the start of the next bench in
/// that <c>--dir</c>: only where a marker file says a bench made them, and never one a running job
/// holds. Before, a <c>--dir</c> whose <c>actorckpt</c> folder was a training job's root lost its
/// checkpoints, even while the job ran.
/// </summary>
internal static class BenchFolders
{
    /// <summary>The marker a bench leaves in its <c>--dir</c> before it makes its folders there.</summary>
    public const string Marker = ".actorckpt-bench";

    /// <summary>
    /// Removes the earlier bench's <paramref name="names"/> under <paramref name="dir"/> (made if
    /// missing) and marks <paramref name="dir"/> as a bench's. Throws, removing nothing, when one of
    /// them is there but no bench made it, or a job holds it.
    /// </summary>
    public static void Clear(string dir, params string[] names)
    {
        var found = names.Select(n => Path.Combine(dir, n)).Where(Path.Exists).ToList();
        if (found.Count > 0 && !File.Exists(Path.Combine(dir, Marker)))
            throw new ActorCkptException($"--dir '{dir}' holds '{found[0]}', which no bench made (there is no {Marker} beside it): bench writes there and removes it at its next run; give it a --dir of its own");
        foreach (var path in found.Where(Directory.Exists))
        {
            try
            {
                CatalogLock.EnsureFree(new LocalBlobStore(path));
            }
            catch (RootLockedException held)
            {
                throw new ActorCkptException($"bench removes '{path}' before it runs, but a running job holds it ({held.InnerException?.Message ?? held.Message}); nothing was removed", held);
            }
        }
        foreach (var path in found)
        {
            if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
            else File.Delete(path);
        }
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, Marker), $"actorckpt bench writes {string.Join(", ", names)} here and removes them at its next run in this folder\n");
    }
}
