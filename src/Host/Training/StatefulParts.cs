namespace ActorCkpt;

/// <summary>A rank's <see cref="IStateful"/> parts as the <see cref="RankState"/> a save takes or a load fills.</summary>
internal static class StatefulParts
{
    /// <summary>The state rank <paramref name="rank"/> of <paramref name="worldSize"/> saves: every part's entries.</summary>
    public static RankState ToSave(int rank, int worldSize, IEnumerable<IStateful> parts)
    {
        var state = new RankState(rank, worldSize);
        foreach (var part in Checked(parts)) part.Save(state);
        return state;
    }

    /// <summary>The target a load of the step described by <paramref name="saved"/> fills for the parts of rank <paramref name="rank"/> of <paramref name="worldSize"/>.</summary>
    public static RankState ToLoad(int rank, int worldSize, IEnumerable<IStateful> parts, CheckpointMetadata saved)
    {
        var target = new RankState(rank, worldSize);
        foreach (var part in Checked(parts)) part.PrepareLoad(target, saved);
        return target;
    }

    /// <summary>Has every part check the entries of <paramref name="result"/> before a load fills any tensor.</summary>
    public static void CheckRestore(IEnumerable<IStateful> parts, LoadResult result)
    {
        foreach (var part in Checked(parts)) part.CheckRestore(result);
    }

    private static IEnumerable<IStateful> Checked(IEnumerable<IStateful> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        var i = 0;
        foreach (var part in parts)
        {
            if (part is null) throw new ArgumentException($"part {i} of the parts given is null: give a module, an optimizer or another IStateful", nameof(parts));
            yield return part;
            i++;
        }
    }
}
