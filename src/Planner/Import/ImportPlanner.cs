namespace ActorCkpt;

/// <summary>
/// Plans a rank's reads of an imported checkpoint (whole tensors without checksums, as Hugging Face
/// files hold them) so that the rank reads exactly its own bytes: each wanted region is cut into
/// pieces that are contiguous in the file (a column shard becomes one read per row), and each read
/// covers its piece and nothing else.
/// </summary>
internal static class ImportPlanner
{
    /// <summary>
    /// Plans the reads filling <paramref name="wanted"/> from <paramref name="source"/>, with
    /// the checks and strictness of <see cref="LoadPlanner.Plan"/>; <paramref name="unreadable"/> are
    /// keys the files hold in a dtype ActorCkpt does not load (unexpected when not wanted); <paramref name="entries"/>, the
    /// non-tensor entries the state names, which such files never hold.
    /// </summary>
    public static LoadPlan Plan(CheckpointMetadata source, IReadOnlyList<WantedChunk> wanted, StrictHandling strict, IEnumerable<string>? unreadable = null,
        (int Rank, IEnumerable<string> Keys)? entries = null)
    {
        var plan = LoadPlanner.Plan(source, wanted, strict, unreadable: unreadable, entries: entries);
        var reads = new List<ReadItem>(plan.Reads.Count);
        foreach (var read in plan.Reads) AddExact(read, read.Region, reads);
        return plan with { Reads = reads };
    }

    private static void AddExact(ReadItem read, TensorBox region, List<ReadItem> into)
    {
        if (region.Volume == 0) return;
        if (region.IsContiguousIn(read.Source.Box))
        {
            var size = DTypes.ElementSize(read.DType);
            var first = region.OffsetsWithin(read.Source.Box);
            into.Add(read with
            {
                RangeStart = Shapes.LinearIndex(read.Source.Box.Lengths, first) * size,
                RangeLength = region.Volume * size,
                Region = region,
            });
            return;
        }
        // Not one run: cut along the outermost dimension longer than 1 and try each slice.
        var dim = 0;
        while (region.Lengths[dim] == 1) dim++;
        var lengths = region.Lengths.ToArray();
        lengths[dim] = 1;
        for (long i = 0; i < region.Lengths[dim]; i++)
        {
            var offsets = region.Offsets.ToArray();
            offsets[dim] += i;
            AddExact(read, new TensorBox(offsets, lengths), into);
        }
    }
}
