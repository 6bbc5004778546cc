namespace ActorCkpt;

/// <summary>
/// A root placed inside a folder another root owns (a step directory, its memory-tier directory):
/// that root's retention would delete it with the folder. The walks over a directory path and over an
/// object-store prefix (<see cref="LocalRoot.InsideAnotherRoot"/>, <see cref="BlobStores.Open"/>)
/// share what such a folder is and the line that names it.
/// </summary>
internal static class NestedRoot
{
    /// <summary>How a line names a folder called <paramref name="name"/> when a root owns folders so named; null otherwise.</summary>
    public static string? OwnedFolder(string name) =>
        CheckpointLayout.TryParseStepDirectory(name, out _) ? "step directory"
        : name == CheckpointLayout.MemoryDirectory ? "the memory-tier directory"
        : null;

    /// <summary>The line refusing <paramref name="root"/>, inside <paramref name="folder"/> (named <paramref name="name"/>) of the root <paramref name="outer"/>.</summary>
    public static string Problem(string root, string folder, string name, string outer) =>
        $"'{root}' lies inside {folder} '{name}' of the checkpoint root '{outer}': give a root of its own, outside another root's steps";
}
