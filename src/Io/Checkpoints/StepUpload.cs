namespace ActorCkpt;

/// <summary>What <see cref="StepUpload.Run"/> did.</summary>
/// <param name="MetadataChecksum">xxHash3-64 of the metadata document copied (the same bytes as the source's).</param>
/// <param name="Files">Data files.</param>
/// <param name="Bytes">Bytes of the data files.</param>
/// <param name="AlreadyThere">The target held the same step already (an upload whose journal entry was lost): nothing was copied.</param>
internal sealed record StepUploadResult(string MetadataChecksum, int Files, long Bytes, bool AlreadyThere);

/// <summary>
/// Copies a committed step from one checkpoint store to another the way a save commits: every data
/// file whole first, then the metadata document, byte for byte, published create-only. A copy that
/// fails or is cancelled removes the files it copied; one that stops halfway (a killed process) leaves no metadata, so nothing at the
/// target ever looks committed that is not complete; an object store's unfinished uploads are aborted
/// by the writers it disposes (and by <c>gc</c> after a killed process).
/// </summary>
internal static class StepUpload
{
    /// <summary>Bytes read and written at once: several of an object store's parts, so a file's parts go up in parallel.</summary>
    public const int CopyBytes = 32 << 20;

    /// <summary>
    /// Copies step <paramref name="step"/> from <paramref name="from"/> to <paramref name="to"/>. Its
    /// metadata must have the checksum <paramref name="expectedChecksum"/> (the catalog's; not checked
    /// when empty). A step committed at the target already is left alone when it is the same checkpoint
    /// (same metadata checksum) and refused otherwise. At most <paramref name="parallelism"/> files are
    /// copied at once. <paramref name="cancellation"/> stops the copy between reads. <paramref name="abandon"/>
    /// gives it up (a store that stopped answering): it stops too, its writers give up the requests they wait
    /// on (<see cref="IBlobWriter.Abandon"/>), and what it wrote is left for the next copy of the step to clear.
    /// </summary>
    public static StepUploadResult Run(CheckpointStore from, CheckpointStore to, long step, string expectedChecksum, int parallelism, CancellationToken cancellation,
        CancellationToken abandon = default)
    {
        using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellation, abandon);
        cancellation = either.Token;
        ArgumentOutOfRangeException.ThrowIfLessThan(parallelism, 1);
        var document = from.ReadMetadataBytes(step);
        var checksum = CheckpointStore.Checksum(document);
        if (expectedChecksum.Length > 0 && checksum != expectedChecksum) throw CheckpointStore.ChecksumDiffers(step, checksum, expectedChecksum);
        var metadata = CheckpointStore.Deserialize(document, $"{from.Blobs.Root}/{CheckpointLayout.InStep(step, CheckpointLayout.MetadataFile)}");
        var bytes = metadata.Files.Sum(f => f.Length);
        if (to.IsCommitted(step))
        {
            var there = CheckpointStore.Checksum(to.ReadMetadataBytes(step));
            if (there == checksum) return new StepUploadResult(checksum, metadata.Files.Count, bytes, AlreadyThere: true);
            throw new ActorCkptException($"step {step} is committed in '{to.Blobs.Root}' already as another checkpoint " +
                                         $"(metadata checksum {there}, this one's is {checksum}); it is not replaced");
        }

        to.PrepareStep(step);
        try
        {
            try
            {
                Parallel.ForEach(metadata.Files, new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellation },
                    file => CopyFile(from.Blobs, to.Blobs, CheckpointLayout.InStep(step, file.Name), file.Length, cancellation, abandon));
            }
            catch (AggregateException e) when (e.InnerExceptions.Count == 1)
            {
                // One file's failure is the copy's: said as itself, not wrapped.
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerExceptions[0]);
            }
            cancellation.ThrowIfCancellationRequested();

            // As a commit does: the data files' entries durable before the metadata names them (a no-op on an object store).
            to.Blobs.SyncDirectory(CheckpointLayout.StepDirectory(step));
            using (var writer = to.Blobs.Create(CheckpointLayout.InStep(step, CheckpointLayout.MetadataTempFile)))
            using (abandon.Register(writer.Abandon))
            {
                writer.Write(document, 0);
                writer.Flush();
            }
            // The last point to stop: a copy given up must not commit the step after its requester heard it failed.
            cancellation.ThrowIfCancellationRequested();
            to.PublishMetadata(step);
        }
        catch when (abandon.IsCancellationRequested)
        {
            // Given up on a store that stopped answering: its removal would wait on that store as the copy did. The next
            // copy of the step clears its directory first, and the tier's start removes what unfinished copies left.
            throw;
        }
        catch
        {
            // The files copied so far go too (each unfinished one aborted itself): an object store
            // bills for them and nothing would ever name them. A step committed meanwhile stays.
            try
            {
                to.DeleteUncommitted(step);
            }
            catch (Exception)
            {
                // Left for the next upload of the step (which clears its directory first) or gc.
            }
            throw;
        }
        try
        {
            to.MoveTracker(step);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The tracker is a convenience for people browsing the target; the step is committed there all the same.
        }
        return new StepUploadResult(checksum, metadata.Files.Count, bytes, AlreadyThere: false);
    }

    /// <summary>Copies <paramref name="path"/> (<paramref name="length"/> bytes, as the metadata says) and makes the copy durable; <paramref name="abandon"/> gives its writer up.</summary>
    private static void CopyFile(IBlobStore from, IBlobStore to, string path, long length, CancellationToken cancellation, CancellationToken abandon)
    {
        using var reader = from.OpenRead(path);
        if (reader.Length != length)
            throw new CheckpointFormatException(path, $"holds {reader.Length} bytes in '{from.Root}'; the step's metadata says {length}");
        using var writer = to.Create(path);
        // A writer waiting on a store that stopped answering would not see the token otherwise.
        using var givenUp = abandon.Register(writer.Abandon);
        BlobCopy.Copy(reader, writer, length, CopyBytes, cancellation);
        writer.Flush();
    }
}
