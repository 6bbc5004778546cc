using ActorCkpt.Planner;

namespace ActorCkpt.Io;

/// <summary>
/// Writes one data file of a save as a valid safetensors file: the header, then each item's
/// bytes in plan order, checksummed block by block while hot, then fsync.
/// </summary>
public static class DataFileWriter
{
    /// <summary>
    /// Writes <paramref name="plan"/> into <paramref name="directory"/>; <paramref name="data"/>[i]
    /// holds the bytes of <paramref name="plan"/>.Items[i]. Returns where each item landed and its
    /// checksums. Throws on any I/O failure; a partial file may remain and is rewritten on retry.
    /// </summary>
    public static FileWriteResult Write(
        IBlobStore store, string directory, FileWritePlan plan, IReadOnlyList<ReadOnlyMemory<byte>> data,
        int blockSize, IReadOnlyDictionary<string, string> fileMetadata)
    {
        if (data.Count != plan.Items.Count)
            throw new ArgumentException($"'{plan.FileName}': {plan.Items.Count} items planned but {data.Count} buffers given", nameof(data));
        if (blockSize <= 0) throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, "must be positive");
        for (var i = 0; i < data.Count; i++)
            if (data[i].Length != plan.Items[i].ByteLength)
                throw new ArgumentException($"'{plan.Items[i].StorageName}': buffer has {data[i].Length} bytes, plan says {plan.Items[i].ByteLength}");

        var (headerBytes, header) = SafetensorsHeader.Build(
            plan.Items.Select(i => (i.StorageName, i.DType, i.Box.Lengths)).ToArray(), fileMetadata);
        var path = directory + "/" + plan.FileName;
        var written = new WrittenItem[plan.Items.Count];
        using (var writer = store.Create(path))
        {
            writer.Write(headerBytes, 0);
            for (var i = 0; i < data.Count; i++)
            {
                var span = data[i].Span;
                var offset = header.DataStart + header.Entries[i].Begin;
                var sums = BlockChecksums.Compute(span, blockSize);
                writer.Write(span, offset);
                written[i] = new WrittenItem(plan.Items[i].StorageName, new StoredBytes(plan.FileName, offset, span.Length, blockSize, sums));
            }
            writer.Flush();
        }
        var length = header.DataStart + (header.Entries.Count == 0 ? 0 : header.Entries[^1].End);
        return new FileWriteResult(plan.FileName, length, written);
    }
}
