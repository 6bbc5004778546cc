using System.Buffers;

namespace ActorCkpt;

/// <summary>
/// Writes a disk data file from a tmpfs replica: the replica's item bytes go through
/// <see cref="DataFileStreamWriter"/> again, with the block sizes recorded, so the disk file is
/// checksummed as it is written and must report exactly the recorded <see cref="FileWriteResult"/>.
/// That equality is the proof that the replica was whole and the disk file equals its payload.
/// </summary>
internal static class ReplicaPersist
{
    /// <summary>
    /// Writes data file <paramref name="file"/> of step <paramref name="step"/> into
    /// <paramref name="root"/>'s step directory (which must exist) from <paramref name="store"/>'s replica,
    /// then fsyncs it. Throws <see cref="ReplicaMismatchException"/> naming the file, item and block when
    /// the replica's header or bytes differ from <paramref name="expected"/>; on any failure, nothing
    /// is left on disk.
    /// </summary>
    public static FileWriteResult Write(ReplicaStore store, long step, string file, FileWritePlan plan, FileWriteResult expected,
        IBlobStore root, IReadOnlyDictionary<string, string> fileMetadata)
    {
        if (plan.FileName != file || expected.FileName != file || expected.Items.Count != plan.Items.Count)
            throw new ArgumentException($"'{file}': the plan ('{plan.FileName}', {plan.Items.Count} items) and the expected result " +
                                        $"('{expected.FileName}', {expected.Items.Count} items) are not of this file");
        using var payload = store.OpenRead(step, file, out var header);
        if (ResultDifference.Between(expected, header.Result) is { } recorded)
            throw new ReplicaMismatchException(file, recorded.Item, recorded.Block, "the replica's header: " + recorded.Problem);

        var path = CheckpointLayout.InStep(step, file);
        var buffer = ArrayPool<byte>.Shared.Rent(DataFileStreamWriter.PieceSize);
        var created = false;
        try
        {
            FileWriteResult result;
            var blob = root.Create(path);
            created = true;
            using (var disk = new DataFileStreamWriter(blob, plan, expected.Items.Select(i => i.Bytes.BlockSize).ToArray(), fileMetadata))
            {
                for (var i = 0; i < plan.Items.Count; i++)
                {
                    var bytes = header.Result.Items[i].Bytes;
                    for (long at = 0; at < bytes.Length;)
                    {
                        var take = (int)Math.Min(buffer.Length, bytes.Length - at);
                        payload.ReadExactly(buffer.AsSpan(0, take), bytes.Offset + at);
                        disk.Append(i, at, buffer.AsSpan(0, take));
                        at += take;
                    }
                }
                result = disk.Complete();
            }
            if (ResultDifference.Between(expected, result) is { } copied)
                throw new ReplicaMismatchException(file, copied.Item, copied.Block, copied.Problem);
            return result;
        }
        catch when (created)
        {
            TryDelete(root, path);
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Deletes the partial disk file <paramref name="path"/> when it can.</summary>
    private static void TryDelete(IBlobStore root, string path)
    {
        try
        {
            root.DeleteFile(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The step is not committed on disk; the persist's abandonment removes its directory.
        }
    }
}
