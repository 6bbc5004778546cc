namespace ActorCkpt;

/// <summary>
/// The planner's decision for one save: every data file, its rank, its writer and its items
/// (replicated chunks appear once), plus every tensor of the job, even those with no bytes.
/// </summary>
/// <param name="WorldSize">Number of ranks in the save.</param>
/// <param name="Files">All data files, ordered by rank then file name.</param>
/// <param name="Tensors">Every tensor key of the save with its dtype and global shape.</param>
internal sealed record GlobalSavePlan(int WorldSize, IReadOnlyList<FileWritePlan> Files, IReadOnlyDictionary<string, TensorDescriptor> Tensors)
{
    // Built on first use, for the Files it was built from: a copy made with `with` carries it along.
    private (IReadOnlyList<FileWritePlan> Files, ILookup<int, FileWritePlan> ByRank)? _index;

    /// <summary>The files rank <paramref name="rank"/> must hand to writers.</summary>
    public IReadOnlyList<FileWritePlan> ForRank(int rank)
    {
        if (_index is not { } index || !ReferenceEquals(index.Files, Files)) _index = index = (Files, Files.ToLookup(f => f.Rank));
        return index.ByRank[rank].ToArray();
    }

    /// <summary>Bytes each rank writes after dedup, indexed by rank.</summary>
    public long[] BytesPerRank()
    {
        var bytes = new long[WorldSize];
        foreach (var f in Files) bytes[f.Rank] += f.DataBytes;
        return bytes;
    }
}
