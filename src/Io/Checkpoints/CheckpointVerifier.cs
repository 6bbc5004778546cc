
namespace ActorCkpt;

/// <summary>
/// Re-reads a committed checkpoint and recomputes every checksum: each data file must exist,
/// have the recorded length and a valid safetensors header that agrees with the metadata
/// (<see cref="StepConsistency.CheckHeader"/>), and every block of every chunk and entry must
/// match. Reports all problems, not just the first.
/// </summary>
internal static class CheckpointVerifier
{
    /// <summary>
    /// Verifies step <paramref name="step"/>; an empty list means every byte checks out.
    /// <paramref name="progress"/> hears the total of chunk and entry bytes, then each block checked.
    /// </summary>
    public static IReadOnlyList<VerificationFailure> Verify(CheckpointStore store, long step, IByteProgress? progress = null)
    {
        var metadata = store.ReadMetadata(step);
        var failures = new List<VerificationFailure>();
        var items = StepConsistency.ItemsByFile(metadata);
        var usable = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in metadata.Files)
        {
            var path = CheckpointLayout.InStep(step, file.Name);
            bool exists;
            try
            {
                exists = store.Blobs.Exists(path);
            }
            catch (UnauthorizedAccessException e)
            {
                // A link in its place: refused unread, and reported with the rest (before, the one line that ended verify and catalog rebuild).
                failures.Add(VerificationFailure.OfFile(file.Name, e));
                continue;
            }
            if (!exists)
            {
                failures.Add(new VerificationFailure(file.Name, "(file)", StepConsistency.Absent(store.Blobs, path, "missing")));
                continue;
            }
            IBlobReader reader;
            try
            {
                reader = store.Blobs.OpenRead(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException && !StorageErrors.IsUnanswered(e))
            {
                // A FIFO, a device or a link in its place: refused without waiting, and reported with the rest.
                failures.Add(VerificationFailure.OfFile(file.Name, e));
                continue;
            }
            using var opened = reader;
            if (reader.Length != file.Length)
                failures.Add(new VerificationFailure(file.Name, "(file)", $"{reader.Length} bytes, metadata says {file.Length}"));
            try
            {
                var header = SafetensorsHeader.Read(reader, file.Name);
                failures.AddRange(StepConsistency.CheckHeader(file, header, items.GetValueOrDefault(file.Name) ?? []));
            }
            catch (CheckpointFormatException e)
            {
                failures.Add(VerificationFailure.OfFile(file.Name, e));
            }
            usable.Add(file.Name);
        }

        var stored = metadata.Tensors.Values.SelectMany(t => t.Chunks.Select(c => (t.Key, c.Bytes)))
            .Concat(metadata.Objects.Select(o => (o.Key, o.Bytes)))
            .ToList();
        progress?.AddTotal(stored.Sum(i => i.Bytes.Length));
        foreach (var group in stored.Where(i => usable.Contains(i.Bytes.File)).GroupBy(i => i.Bytes.File))
        {
            try
            {
                using var reader = store.Blobs.OpenRead(CheckpointLayout.InStep(step, group.Key));
                foreach (var (key, bytes) in group) failures.AddRange(CheckItem(reader, key, bytes, progress));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException && !StorageErrors.IsUnanswered(e))
            {
                // Replaced or cut since its header was checked (another program writes this root too): reported with the rest.
                failures.Add(VerificationFailure.OfFile(group.Key, e));
            }
        }
        return failures;
    }

    private static IEnumerable<VerificationFailure> CheckItem(IBlobReader reader, string key, StoredBytes stored, IProgress<long>? progress)
    {
        if (stored.Offset + stored.Length > reader.Length)
            return new[] { new VerificationFailure(stored.File, key, $"bytes {stored.Offset}..{stored.Offset + stored.Length} lie past the end of the file") };
        var expectedBlocks = (stored.Length + stored.BlockSize - 1) / stored.BlockSize;
        if (stored.BlockChecksums.Count != expectedBlocks)
            return new[] { new VerificationFailure(stored.File, key, $"{stored.BlockChecksums.Count} checksums recorded for {expectedBlocks} blocks") };
        var buffer = new byte[Math.Min(stored.BlockSize, Math.Max(1, stored.Length))];
        var bad = new List<int>();
        for (var b = 0; b < expectedBlocks; b++)
        {
            var start = (long)b * stored.BlockSize;
            var block = buffer.AsSpan(0, (int)Math.Min(stored.BlockSize, stored.Length - start));
            reader.ReadExactly(block, stored.Offset + start);
            if (BlockChecksums.Of(block) != stored.BlockChecksums[b]) bad.Add(b);
            progress?.Report(block.Length);
        }
        return bad.Count == 0
            ? Array.Empty<VerificationFailure>()
            : new[] { new VerificationFailure(stored.File, key, $"checksum mismatch in block(s) {string.Join(", ", bad)}") };
    }
}
