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
    /// is left on disk. A plan or file metadata that does not describe <paramref name="expected"/> (other
    /// items, another order, another header) is the caller's mistake, not a corrupt replica: an
    /// <see cref="ArgumentException"/> before the replica is read.
    /// </summary>
    public static FileWriteResult Write(ReplicaStore store, long step, string file, FileWritePlan plan, FileWriteResult expected,
        IBlobStore root, IReadOnlyDictionary<string, string> fileMetadata)
    {
        if (plan.FileName != file || expected.FileName != file || expected.Items.Count != plan.Items.Count)
            throw new ArgumentException($"'{file}': the plan ('{plan.FileName}', {plan.Items.Count} items) and the expected result " +
                                        $"('{expected.FileName}', {expected.Items.Count} items) are not of this file");
        for (var i = 0; i < plan.Items.Count; i++)
        {
            var (planned, wanted) = (plan.Items[i], expected.Items[i]);
            if (planned.StorageName != wanted.StorageName || Shapes.Volume(planned.Box.Lengths) * DTypes.ElementSize(planned.DType) != wanted.Bytes.Length)
                throw new ArgumentException($"'{file}': item {i} of the plan is '{planned.StorageName}', the expected result's is '{wanted.StorageName}' " +
                                            $"({wanted.Bytes.Length} bytes): the plan is not the one this file was written from");
        }
        var (_, built) = SafetensorsHeader.Build(plan.Items.Select(i => (i.StorageName, i.DType, i.Box.Lengths)).ToArray(), fileMetadata);
        if (expected.HeaderChecksum.Length > 0 && built.Checksum != expected.HeaderChecksum)
            throw new ArgumentException($"'{file}': the plan and file metadata give a safetensors header with checksum {built.Checksum}, " +
                                        $"the file was written with {expected.HeaderChecksum}: not the plan and metadata it was written from");
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
