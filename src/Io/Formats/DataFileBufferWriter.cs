
namespace ActorCkpt;

/// <summary>
/// Writes one data file of a save from buffers in memory (a same-node writer gets the staged
/// buffers by reference) as a valid safetensors file, through <see cref="DataFileStreamWriter"/>
/// (on disk, or inside a tmpfs replica).
/// </summary>
internal static class DataFileBufferWriter
{
    /// <summary>
    /// Writes <paramref name="plan"/> into <paramref name="directory"/>; <paramref name="data"/>[i]
    /// holds the bytes of <paramref name="plan"/>.Items[i]. Returns where each item landed and its
    /// checksums, in blocks of at most <paramref name="maxBlockSize"/> bytes. Throws on any I/O
    /// failure; a partial file may remain and is rewritten on retry. <paramref name="ready"/>, when
    /// given, is called with i before item i is read (it may wait until the item's bytes are there,
    /// or throw to give the file up).
    /// </summary>
    public static FileWriteResult Write(
        IBlobStore store, string directory, FileWritePlan plan, IReadOnlyList<ReadOnlyMemory<byte>> data,
        int maxBlockSize, IReadOnlyDictionary<string, string> fileMetadata, Action<int>? ready = null) =>
        Write(() => new DataFileStreamWriter(store, directory, plan, maxBlockSize, fileMetadata), plan, data, ready);

    /// <summary>
    /// Writes <paramref name="plan"/>'s items from <paramref name="data"/> into the file
    /// <paramref name="open"/> opens once the buffers are checked (a data file on disk or a tmpfs
    /// replica), completes it and disposes it; otherwise as
    /// <see cref="Write(IBlobStore, string, FileWritePlan, IReadOnlyList{ReadOnlyMemory{byte}}, int, IReadOnlyDictionary{string, string}, Action{int}?)"/>.
    /// </summary>
    public static FileWriteResult Write(Func<IDataFileSink> open, FileWritePlan plan, IReadOnlyList<ReadOnlyMemory<byte>> data, Action<int>? ready = null)
    {
        Check(plan, data);
        using var file = open();
        for (var i = 0; i < data.Count; i++)
        {
            ready?.Invoke(i);
            file.AppendLent(i, 0, data[i]);
        }
        return file.Complete();
    }

    /// <summary>Throws when <paramref name="data"/> does not hold exactly <paramref name="plan"/>'s items.</summary>
    private static void Check(FileWritePlan plan, IReadOnlyList<ReadOnlyMemory<byte>> data)
    {
        if (data.Count != plan.Items.Count)
            throw new ArgumentException($"'{plan.FileName}': {plan.Items.Count} items planned but {data.Count} buffers given", nameof(data));
        for (var i = 0; i < data.Count; i++)
            if (data[i].Length != plan.Items[i].ByteLength)
                throw new ArgumentException($"'{plan.Items[i].StorageName}': buffer has {data[i].Length} bytes, plan says {plan.Items[i].ByteLength}");
    }
}
