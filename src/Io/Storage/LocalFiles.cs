namespace ActorCkpt;

/// <summary>Local file operations that may fail without failing their caller.</summary>
internal static class LocalFiles
{
    /// <summary>
    /// Deletes <paramref name="path"/> when it can; false when an I/O or access error left it (the
    /// caller says what becomes of it).
    /// </summary>
    public static bool TryDelete(string path)
    {
        try
        {
            File.Delete(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
