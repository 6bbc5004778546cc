namespace ActorCkpt;

/// <summary>
/// Whether a committed step is still what was committed, short of reading its tensor bytes (that is
/// <see cref="CheckpointVerifier"/>'s work): its metadata against the checksum the catalog recorded
/// at commit, and every chunk and entry against the safetensors header of its data file: the
/// header's own checksum recorded in the metadata, an entry of the item's name, with its dtype, its
/// shape and its byte place, and a name that places the chunk where the metadata does in the global
/// tensor. Metadata that is still valid JSON but was changed (a shape, an offset), a header
/// rewritten to the same length, another step's files: each is a problem named by file and field.
/// Headers are small, so this reads a few KiB per data file. The "step" field is checked when the
/// metadata is read (<see cref="CheckpointStore.ReadMetadata"/>), for loads too.
/// </summary>
internal static class StepConsistency
{
    /// <summary>The key of a problem with a data file's header as a whole, not with one item.</summary>
    public const string HeaderKey = "(header)";

    /// <summary>
    /// Reads committed step <paramref name="step"/> and returns its metadata when it passes every
    /// check; otherwise throws <see cref="CheckpointFormatException"/> naming the file and field of
    /// the first problem (and how many more there are), for a command that must not write anything
    /// from a step that fails. <paramref name="expectedChecksum"/> is the catalog's, when there is a catalog:
    /// given, the step's metadata must be there as a regular file (<see cref="RequireMetadataFile"/>).
    /// </summary>
    public static CheckpointMetadata Require(CheckpointStore store, long step, string? expectedChecksum) =>
        Require(store, step, expectedChecksum, out _);

    /// <summary>
    /// <see cref="Require(CheckpointStore, long, string?)"/>, giving the checksum of the document it
    /// checked in <paramref name="checkedChecksum"/>: a command that reads the metadata again to write
    /// from it passes that to <see cref="CheckpointStore.ReadMetadata"/>, so a document changed
    /// between the check and the write is refused, not written.
    /// </summary>
    public static CheckpointMetadata Require(CheckpointStore store, long step, string? expectedChecksum, out string checkedChecksum)
    {
        if (expectedChecksum is { Length: > 0 }) RequireMetadataFile(store, step);
        var (metadata, checksum) = store.ReadMetadataWithChecksum(step);
        checkedChecksum = checksum;
        if (expectedChecksum is { Length: > 0 } && checksum != expectedChecksum)
            throw CheckpointStore.ChecksumDiffers(step, checksum, expectedChecksum);
        var problems = CheckFiles(store, step, metadata);
        if (problems.Count == 0) return metadata;
        var more = problems.Count switch
        {
            1 => "",
            2 => " (and 1 more problem: actorckpt verify lists them)",
            _ => $" (and {problems.Count - 1} more problems: actorckpt verify lists them)",
        };
        throw new CheckpointFormatException(CheckpointLayout.InStep(step, problems[0].File), problems[0].Problem + more);
    }

    /// <summary>
    /// Throws <see cref="CheckpointFormatException"/> naming step <paramref name="step"/>'s metadata when
    /// it is missing or is not a regular file (a FIFO, a link), for a step the catalog records as
    /// committed: such a step fails the reader checks, where <see cref="CheckpointStore.CommittedSteps"/>
    /// (which knows no catalog) skips it, and an older step would pass for the newest. Nothing is
    /// waited on: the store refuses what is not a regular file without reading it.
    /// </summary>
    public static void RequireMetadataFile(CheckpointStore store, long step)
    {
        var file = CheckpointLayout.InStep(step, CheckpointLayout.MetadataFile);
        if (store.Blobs.IsRegularFile(file)) return;
        string what;
        try
        {
            store.Blobs.OpenRead(file).Dispose();
            return; // a regular file now (put back meanwhile): the reads that follow check it
        }
        catch (NotARegularFileException e)
        {
            what = e.Kind == FileKind.Missing ? "the file is missing" : $"the file is {NotARegularFileException.Describe(e.Kind)}, not a regular file";
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            what = "the file is missing";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException && !StorageErrors.IsUnanswered(e))
        {
            // A link is refused here, naming where it leads.
            what = "it cannot be read: " + e.Message;
        }
        throw new CheckpointFormatException(file, $"the catalog records step {step} as committed, but {what}");
    }

    /// <summary>
    /// Why committed step <paramref name="step"/> fails <see cref="Require(CheckpointStore, long, string?)"/>, in one line naming
    /// the file and field (and how many more problems there are); null when it passes. For listings
    /// that show a damaged step as such rather than stop at it. A store that does not answer is no
    /// damage: its error is thrown (<see cref="StorageErrors.IsUnanswered"/>).
    /// </summary>
    public static string? Damage(CheckpointStore store, long step, string? expectedChecksum)
    {
        try
        {
            Require(store, step, expectedChecksum);
            return null;
        }
        catch (Exception e) when (e is CheckpointFormatException or CheckpointNotFoundException or IOException or UnauthorizedAccessException && !StorageErrors.IsUnanswered(e))
        {
            return e.Message;
        }
    }

    /// <summary>
    /// Checks committed step <paramref name="step"/> and returns every problem (none when it is
    /// whole). Metadata that cannot be read, or that names another step, is thrown as
    /// <see cref="CheckpointStore.ReadMetadata"/> throws it: nothing else can be checked then.
    /// </summary>
    public static IReadOnlyList<VerificationFailure> Check(CheckpointStore store, long step, string? expectedChecksum)
    {
        if (expectedChecksum is { Length: > 0 }) RequireMetadataFile(store, step);
        var (metadata, checksum) = store.ReadMetadataWithChecksum(step);
        var problems = new List<VerificationFailure>();
        if (CheckCatalogChecksum(checksum, expectedChecksum) is { } differs) problems.Add(differs);
        problems.AddRange(CheckFiles(store, step, metadata));
        return problems;
    }

    /// <summary>
    /// The problem with metadata of checksum <paramref name="actual"/>
    /// when the catalog recorded <paramref name="expected"/> at commit; null when they agree or there is no catalog.
    /// </summary>
    public static VerificationFailure? CheckCatalogChecksum(string actual, string? expected) =>
        expected is { Length: > 0 } && actual != expected
            ? new VerificationFailure(CheckpointLayout.MetadataFile, "(file)", CheckpointStore.ChecksumDiffers(actual, expected))
            : null;

    /// <summary>
    /// Opens each data file of <paramref name="metadata"/> (step <paramref name="step"/>) and checks
    /// its header against the metadata (<see cref="CheckHeader"/>); a file that is missing, is not a
    /// regular file or has no valid header is a problem too.
    /// </summary>
    public static IReadOnlyList<VerificationFailure> CheckFiles(CheckpointStore store, long step, CheckpointMetadata metadata)
    {
        var problems = new List<VerificationFailure>();
        var items = ItemsByFile(metadata);
        foreach (var file in metadata.Files)
        {
            var path = CheckpointLayout.InStep(step, file.Name);
            if (!store.Blobs.Exists(path))
            {
                problems.Add(new VerificationFailure(file.Name, "(file)", Absent(store.Blobs, path, "the data file is missing")));
                continue;
            }
            try
            {
                using var reader = store.Blobs.OpenRead(path);
                var header = SafetensorsHeader.Read(reader, file.Name);
                problems.AddRange(CheckHeader(file, header, items.GetValueOrDefault(file.Name) ?? []));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CheckpointFormatException && !StorageErrors.IsUnanswered(e))
            {
                // A FIFO or a link in its place is refused without waiting; a header that does not parse names its fault.
                problems.Add(VerificationFailure.OfFile(file.Name, e));
            }
        }
        return problems;
    }

    /// <summary>
    /// Why a data file that is not there as a file is not: <paramref name="missing"/>, or what stands
    /// in its place when something does (a directory: it is not a file, so it does not "exist").
    /// </summary>
    internal static string Absent(IBlobStore blobs, string path, string missing)
    {
        try
        {
            blobs.OpenRead(path).Dispose();
            return missing; // put back meanwhile: the reads that follow check it
        }
        catch (NotARegularFileException e) when (e.Kind != FileKind.Missing)
        {
            return e.Message;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException && !StorageErrors.IsUnanswered(e))
        {
            return missing;
        }
    }

    /// <summary>
    /// Checks <paramref name="header"/>, read from data file <paramref name="file"/>, against the
    /// metadata's <paramref name="items"/> in that file: the header's checksum against the one
    /// recorded (when one was), and for each item an entry of its name, dtype, shape and byte place,
    /// a name that places a chunk where its box does, and no entry that no item names. Pure.
    /// </summary>
    public static IReadOnlyList<VerificationFailure> CheckHeader(DataFileMetadata file, SafetensorsHeader header, IReadOnlyList<StoredItem> items)
    {
        var problems = new List<VerificationFailure>();
        void Add(string key, string problem) => problems.Add(new VerificationFailure(file.Name, key, problem));
        if (file.HeaderChecksum.Length > 0 && header.Checksum != file.HeaderChecksum)
            Add(HeaderKey, $"header checksum {header.Checksum} differs from the {file.HeaderChecksum} recorded in the metadata (\"header_checksum\"): the header was rewritten");

        var entries = header.Entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
        var named = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            named.Add(item.StorageName);
            if (item.StorageName != item.ExpectedName)
                Add(item.Key, $"{item.What} is stored as '{item.StorageName}' in the metadata (\"name\"), a name that belongs to another place; its own is '{item.ExpectedName}'");
            if (!entries.TryGetValue(item.StorageName, out var entry))
            {
                Add(item.Key, $"the header has no entry '{item.StorageName}' for {item.What}");
                continue;
            }
            if (entry.DType != item.DType)
                Add(item.Key, $"entry '{entry.Name}' has dtype {DTypes.ToSafetensors(entry.DType)} in the header, {DTypes.ToSafetensors(item.DType)} in the metadata (\"dtype\")");
            if (!entry.Shape.SequenceEqual(item.Lengths))
                Add(item.Key, $"entry '{entry.Name}' has shape {Shapes.Format(entry.Shape)} in the header, {Shapes.Format(item.Lengths)} in the metadata (\"lengths\" of {item.What})");
            // Begin and End are non-negative and bounded by the file (the header parser checked them): no sum wraps.
            var offset = header.DataStart + entry.Begin;
            if (offset != item.Bytes.Offset || entry.Length != item.Bytes.Length)
                Add(item.Key, $"entry '{entry.Name}' lies at byte {offset} (+{entry.Length}) in the header, at byte {item.Bytes.Offset} (+{item.Bytes.Length}) in the metadata (\"offset\", \"length\")");
        }
        foreach (var entry in header.Entries.Where(e => !named.Contains(e.Name)))
            Add(HeaderKey, $"the header has entry '{entry.Name}', which nothing in the metadata names");
        return problems;
    }

    /// <summary>Every chunk and entry of <paramref name="metadata"/> as the header of its file must describe it, by file.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<StoredItem>> ItemsByFile(CheckpointMetadata metadata)
    {
        var byFile = new Dictionary<string, List<StoredItem>>(StringComparer.Ordinal);
        void Add(StoredItem item)
        {
            if (!byFile.TryGetValue(item.Bytes.File, out var list)) byFile[item.Bytes.File] = list = new List<StoredItem>();
            list.Add(item);
        }
        foreach (var t in metadata.Tensors.Values)
            foreach (var c in t.Chunks)
                Add(new StoredItem(t.Key, $"chunk {c.Box} of '{t.Key}'", c.StorageName,
                    StorageNames.Chunk(t.Key, c.Box, t.Shape), t.DType, c.Box.Lengths, c.Bytes));
        foreach (var o in metadata.Objects)
            Add(new StoredItem(o.Key, $"entry '{o.Key}'", o.StorageName,
                StorageNames.Entry(o.Key, o.Scope, o.Rank), DType.UInt8, new[] { o.Bytes.Length }, o.Bytes));
        return byFile.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<StoredItem>)kv.Value, StringComparer.Ordinal);
    }
}

/// <summary>A chunk or entry of the metadata, as the header of its data file must describe it.</summary>
/// <param name="Key">The tensor's or entry's key.</param>
/// <param name="What">How a problem names it ("chunk offsets [0, 0] lengths [4, 4] of 'w'").</param>
/// <param name="StorageName">Its name in the data file, as the metadata records it.</param>
/// <param name="ExpectedName">The name a writer gives it: the key, the key and the chunk's offsets, or the entry's reserved name.</param>
/// <param name="DType">Its element type.</param>
/// <param name="Lengths">Its shape in the data file: the chunk's lengths, or an entry's byte length.</param>
/// <param name="Bytes">Where the metadata places its bytes.</param>
internal sealed record StoredItem(string Key, string What, string StorageName, string ExpectedName, DType DType, IReadOnlyList<long> Lengths, StoredBytes Bytes);
