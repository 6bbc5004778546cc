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
    // Built on first use, for the Files it was built from: a copy made with `with` carries it along
    // and rebuilds it when its Files differ.
    private RankIndex? _index;

    /// <summary>The files rank <paramref name="rank"/> must hand to writers (a new array on each call), found through an index built once.</summary>
    public IReadOnlyList<FileWritePlan> ForRank(int rank) => Index().ForRank(rank);

    /// <summary>Bytes each rank writes after dedup, indexed by rank.</summary>
    public long[] BytesPerRank()
    {
        var bytes = new long[WorldSize];
        foreach (var f in Files) bytes[f.Rank] += f.DataBytes;
        return bytes;
    }

    /// <summary>
    /// This plan with file names tagged <paramref name="newTag"/> instead of <paramref name="oldTag"/>
    /// (see <see cref="WriteAssigner.Retag(string, string, string)"/>): same files, writers and items
    /// in the same order, and the same rank index, so its <see cref="ForRank"/> costs no scan.
    /// </summary>
    public GlobalSavePlan Retagged(string oldTag, string newTag)
    {
        var index = Index();
        var (oldSuffix, newSuffix) = (WriteAssigner.Suffix(oldTag), WriteAssigner.Suffix(newTag));
        var files = new FileWritePlan[Files.Count];
        for (var i = 0; i < files.Length; i++)
            files[i] = Files[i] with { FileName = WriteAssigner.Retag(Files[i].FileName, oldTag, oldSuffix, newSuffix) };
        return new GlobalSavePlan(WorldSize, files, Tensors) { _index = index.For(files) };
    }

    private RankIndex Index()
    {
        var index = _index;
        if (index is null || !ReferenceEquals(index.Files, Files)) _index = index = RankIndex.Of(Files, WorldSize);
        return index;
    }

    /// <summary>
    /// Where each rank's files are: when the files are ordered by rank (as the planner makes them)
    /// and every rank is inside the world, rank r's are Files[Starts[r]..Starts[r + 1]); otherwise
    /// a lookup.
    /// </summary>
    private sealed class RankIndex
    {
        private readonly int[]? _starts;
        private readonly ILookup<int, FileWritePlan>? _lookup;

        private RankIndex(IReadOnlyList<FileWritePlan> files, int[]? starts, ILookup<int, FileWritePlan>? lookup) =>
            (Files, _starts, _lookup) = (files, starts, lookup);

        public IReadOnlyList<FileWritePlan> Files { get; }

        public static RankIndex Of(IReadOnlyList<FileWritePlan> files, int worldSize)
        {
            if (worldSize >= 0)
            {
                var starts = new int[worldSize + 1];
                var sorted = true;
                for (var i = 0; i < files.Count && sorted; i++)
                {
                    var rank = files[i].Rank;
                    sorted = rank >= 0 && rank < worldSize && (i == 0 || rank >= files[i - 1].Rank);
                    if (sorted) starts[rank + 1]++;
                }
                if (sorted)
                {
                    for (var r = 0; r < worldSize; r++) starts[r + 1] += starts[r];
                    return new RankIndex(files, starts, null);
                }
            }
            return new RankIndex(files, null, files.ToLookup(f => f.Rank));
        }

        /// <summary>This index for <paramref name="files"/>, which have the same ranks in the same order.</summary>
        public RankIndex For(IReadOnlyList<FileWritePlan> files) =>
            new(files, _starts, _lookup is null ? null : files.ToLookup(f => f.Rank));

        public IReadOnlyList<FileWritePlan> ForRank(int rank)
        {
            if (_starts is null) return _lookup![rank].ToArray();
            if (rank < 0 || rank >= _starts.Length - 1) return Array.Empty<FileWritePlan>();
            var (start, end) = (_starts[rank], _starts[rank + 1]);
            var mine = new FileWritePlan[end - start];
            for (var i = 0; i < mine.Length; i++) mine[i] = Files[start + i];
            return mine;
        }
    }
}
