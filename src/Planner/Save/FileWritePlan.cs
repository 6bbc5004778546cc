namespace ActorCkpt;

/// <summary>One data file of a save: which rank's bytes go in it, which writer writes it, in what order.</summary>
/// <param name="FileName">Name of the file inside the step directory.</param>
/// <param name="Rank">The rank whose staged buffers hold every item of the file.</param>
/// <param name="WriterIndex">Index of the writer (in the planner's writer list) that writes the file.</param>
/// <param name="Items">Items in file order.</param>
/// <param name="WriterNode">The node of that writer (its address), recorded in the metadata.</param>
internal sealed record FileWritePlan(string FileName, int Rank, int WriterIndex, IReadOnlyList<WriteItem> Items, string WriterNode = "")
{
    /// <summary>Bytes of tensor data in the file (header excluded).</summary>
    public long DataBytes => Items.Sum(i => i.ByteLength);
}
