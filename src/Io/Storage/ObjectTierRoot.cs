namespace ActorCkpt;

/// <summary>
/// What is wrong with a directory given as the object tier's root beside a checkpoint root: the
/// tier lists what it holds as its uploads and applies its own retention there, so a tier root that
/// is the checkpoint root itself (by any path, links included) or another job's checkpoint root
/// would have its committed steps deleted. A path with a file in the way is named at start too.
/// </summary>
internal static class ObjectTierRoot
{
    /// <summary>The configuration key, named in every refusal.</summary>
    public const string Key = "actorckpt.tiers.object.root";

    /// <summary>
    /// Null when <paramref name="tier"/> may serve as the object tier of <paramref name="root"/>;
    /// otherwise one line saying why not. Object-store URIs are compared as the roots they name (the
    /// scheme's case and the prefix's outer slashes aside; keys are case-sensitive).
    /// </summary>
    public static string? Problem(string tier, string root)
    {
        if (!BlobStores.IsDirectory(tier))
            return !BlobStores.IsDirectory(root) && SameObjectRoot(tier, root)
                ? $"{Key} = '{tier}' is the checkpoint root itself: the tier would take the root's steps for its uploads; give it a directory of its own"
                : null;
        // Found at start rather than as a warning at every upload.
        if (DirectoryPath.InTheWay(tier) is { } blocked) return $"{Key} = '{tier}': {blocked}";
        var realTier = RealPath.Of(tier);
        if (BlobStores.IsDirectory(root) && realTier == RealPath.Of(root))
            return $"{Key} = '{tier}' is the checkpoint root itself{(realTier == Path.TrimEndingDirectorySeparator(Path.GetFullPath(tier)) ? "" : $" (it leads to '{realTier}')")}: " +
                   "the tier would take the root's steps for its uploads; give it a directory of its own";
        foreach (var marker in new[] { CheckpointLayout.RootIdFile, CheckpointLayout.CatalogLockFile })
            if (File.Exists(Path.Combine(realTier, marker)))
                return AnotherRoot(tier, marker, "give it a directory of its own");
        return null;
    }

    /// <summary>Whether object-store URIs <paramref name="a"/> and <paramref name="b"/> name one root; a malformed one names none (it is refused where it is opened).</summary>
    private static bool SameObjectRoot(string a, string b)
    {
        try
        {
            return ObjectRoot.Parse(a) == ObjectRoot.Parse(b);
        }
        catch (ActorCkptException)
        {
            return false;
        }
    }

    /// <summary>
    /// Null unless the opened object-store tier <paramref name="store"/> (root <paramref name="tier"/>) is
    /// another job's root, holding its <see cref="CheckpointLayout.RootIdFile"/>: then one line saying so.
    /// Asked at the tier's first use, as the store may be out of reach at a node's start.
    /// </summary>
    public static string? InStore(string tier, IBlobStore store) =>
        store.Exists(CheckpointLayout.RootIdFile) ? AnotherRoot(tier, CheckpointLayout.RootIdFile, "give the tier a prefix of its own") : null;

    /// <summary>
    /// The start of a line saying that <paramref name="where"/> is the object tier of the root with id
    /// <paramref name="owner"/> ("" when unreadable: <see cref="CheckpointStore.ObjectTierOf"/>); the caller says what follows from it.
    /// </summary>
    public static string OfAnotherRoot(string where, string owner) =>
        $"'{where}' is the object tier of another checkpoint root (its {CheckpointLayout.ObjectTierMarkerFile} "
        + (owner.Length == 0 ? "is there, with no readable root id in it)" : $"names the root with id {owner})");

    private static string AnotherRoot(string tier, string marker, string fix) =>
        $"{Key} = '{tier}' is another checkpoint root (it holds {marker}): the tier's retention would delete that root's steps; {fix}";
}
