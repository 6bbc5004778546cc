namespace ActorCkpt.Fuzz;

/// <summary>
/// A step's metadata in the binary form (layout 2): read whole (<see cref="CheckpointStore.Deserialize(byte[], string)"/>,
/// every page checked and the result validated, and the same through a reader as a local file is read) and by index (<see cref="MetadataIndex"/>: the overview
/// and a rank's part for the whole of every tensor), through ranged reads as a load does. Each must
/// accept or refuse with <see cref="CheckpointFormatException"/>; what the whole read accepts must be
/// what the rank's read returns for every chunk, and must write and read back unchanged.
/// </summary>
internal sealed class MetadataBinaryTarget : FuzzTarget
{
    /// <inheritdoc />
    public override string Name => "metadata-bin";

    /// <inheritdoc />
    protected override void Feed(ReadOnlySpan<byte> input)
    {
        var bytes = input.ToArray();
        if (!MetadataBinary.IsBinary(bytes)) throw new CheckpointFormatException("metadata.json", "not the binary form");
        using (var index = MetadataIndex.Open(new MemoryBlobReader(bytes), "metadata.json", expectedChecksum: null))
        {
            index.Overview();
            index.ForRank(0, index.Tensors.Select(t => new WantedChunk(0, t.Key, t.DType, t.Shape, TensorBox.Whole(t.Shape))).ToArray());
        }
        // The whole read a local file gets (by index, a tensor's pages at a time) must agree with the
        // read of the bytes: both accept with the same result, or both refuse with the same message.
        CheckpointMetadata? throughReader = null;
        CheckpointFormatException? refusedThere = null;
        try
        {
            throughReader = CheckpointStore.Deserialize(new MemoryBlobReader(bytes), "metadata.json", CheckpointStore.DefaultMaxMetadataBytes, expectedChecksum: null).Metadata;
        }
        catch (CheckpointFormatException e)
        {
            refusedThere = e;
        }
        CheckpointMetadata metadata;
        try
        {
            metadata = CheckpointStore.Deserialize(bytes, "metadata.json");
        }
        catch (CheckpointFormatException e) when (refusedThere?.Message != e.Message)
        {
            throw new InvalidOperationException($"the read through a reader {(refusedThere is null ? "accepted" : $"refused with \"{refusedThere.Message}\"")} what the read of the bytes refused", e);
        }
        if (refusedThere is not null) throw new InvalidOperationException("the read through a reader refused what the read of the bytes accepted", refusedThere);
        if (!MetadataJson.Serialize(metadata).AsSpan().SequenceEqual(MetadataJson.Serialize(throughReader!)))
            throw new InvalidOperationException("the read through a reader differs from the read of the bytes");
        using (var index = MetadataIndex.Open(new MemoryBlobReader(bytes), "metadata.json", CheckpointStore.Checksum(bytes)))
        {
            var all = index.ForRank(0, metadata.Tensors.Values.Select(t => new WantedChunk(0, t.Key, t.DType, t.Shape, TensorBox.Whole(t.Shape))).ToArray());
            foreach (var t in metadata.Tensors.Values)
                if (all.Tensors[t.Key].Chunks.Count != t.Chunks.Count(c => c.Box.Volume > 0 || c.Box.Rank == 0))
                    throw new InvalidOperationException($"the rank's read of the whole of '{t.Key}' returned {all.Tensors[t.Key].Chunks.Count} of its {t.Chunks.Count} chunks");
        }
        try
        {
            var again = CheckpointStore.Deserialize(MetadataBinaryWriter.ToArray(metadata), "rewritten metadata.json");
            if (!MetadataJson.Serialize(again).AsSpan().SequenceEqual(MetadataJson.Serialize(metadata)))
                throw new InvalidOperationException("an accepted document reads back different once rewritten");
        }
        catch (ActorCkptException e)
        {
            throw new InvalidOperationException("an accepted document does not read back once rewritten", e);
        }
    }

    /// <inheritdoc />
    protected override bool IsBadInput(Exception e) => e is CheckpointFormatException;
}
