namespace ActorCkpt;

/// <summary>Joins a global save plan with the writers' reports into the checkpoint's metadata.</summary>
internal static class MetadataBuilder
{
    /// <summary>
    /// Builds the metadata of step <paramref name="step"/>. Throws <see cref="ActorCkptException"/>
    /// naming the file or item when a report is missing, so an incomplete save is never committed.
    /// </summary>
    public static CheckpointMetadata Build(long step, GlobalSavePlan plan, IEnumerable<FileWriteResult> results, DateTimeOffset createdUtc)
    {
        var byFile = new Dictionary<string, FileWriteResult>(StringComparer.Ordinal);
        foreach (var r in results) byFile[r.FileName] = r;

        var chunks = plan.Tensors.Keys.ToDictionary(k => k, _ => new List<StoredChunk>(), StringComparer.Ordinal);
        var objects = new List<ObjectMetadata>();
        var files = new List<DataFileMetadata>();
        foreach (var file in plan.Files)
        {
            if (!byFile.TryGetValue(file.FileName, out var result))
                throw new ActorCkptException($"no write report for data file '{file.FileName}' of rank {file.Rank}");
            var written = result.Items.ToDictionary(i => i.StorageName, StringComparer.Ordinal);
            files.Add(new DataFileMetadata(file.FileName, result.Length, file.Rank, file.WriterIndex, file.WriterNode, result.HeaderChecksum));
            foreach (var item in file.Items)
            {
                if (!written.TryGetValue(item.StorageName, out var w))
                    throw new ActorCkptException($"data file '{file.FileName}' has no report for '{item.StorageName}'");
                if (w.Bytes.Length != item.ByteLength)
                    throw new ActorCkptException($"'{item.StorageName}' in '{file.FileName}': {w.Bytes.Length} bytes written, {item.ByteLength} planned");
                if (item.Kind == WriteItemKind.Object)
                    objects.Add(new ObjectMetadata(item.Key, item.Scope, item.Rank, item.StorageName, w.Bytes));
                else
                    chunks[item.Key].Add(new StoredChunk(item.Box, item.StorageName, item.Rank, w.Bytes));
            }
        }

        var tensors = plan.Tensors.Values.ToDictionary(
            d => d.Key,
            d => new TensorMetadata(d.Key, d.DType, d.Shape, chunks[d.Key]),
            StringComparer.Ordinal);
        return new CheckpointMetadata(CheckpointMetadata.CurrentFormatVersion, step, plan.WorldSize, createdUtc, tensors, objects, files);
    }
}
