namespace ActorCkpt.Actors.Tests;

/// <summary>Removes a spec's scratch directory when the spec ends.</summary>
internal static class ScratchDirectory
{
    /// <summary>
    /// Deletes <paramref name="path"/> and everything under it. A spec may end while the node it
    /// stopped still has a retention deletion in flight (a commit is heard once the deletion is
    /// journaled, before its files go), so a directory can vanish under the recursive delete:
    /// that is not the spec's failure, and the delete goes round again until the tree is gone.
    /// </summary>
    public static void Delete(string path)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
                return;
            }
            catch (IOException) when (attempt < 20)
            {
            }
        }
    }
}
