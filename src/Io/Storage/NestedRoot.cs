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

    /// <summary>
    /// What owns the folders of a directory or prefix in which <paramref name="exists"/> finds its files:
    /// "the checkpoint root" (its <see cref="CheckpointLayout.RootIdFile"/>), "the object tier" (its
    /// <see cref="CheckpointLayout.ObjectTierMarkerFile"/>: its retention deletes its steps too), or null.
    /// </summary>
    public static string? Owner(Func<string, bool> exists) =>
        exists(CheckpointLayout.RootIdFile) ? "the checkpoint root"
        : exists(CheckpointLayout.ObjectTierMarkerFile) ? "the object tier"
        : null;

    /// <summary>The line refusing <paramref name="root"/>, inside <paramref name="folder"/> (named <paramref name="name"/>) of <paramref name="owner"/> <paramref name="outer"/>.</summary>
    public static string Problem(string root, string folder, string name, string owner, string outer) =>
        $"'{root}' lies inside {folder} '{name}' of {owner} '{outer}': give a root of its own, outside another root's steps";
}
