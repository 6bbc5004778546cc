using System.Globalization;
using System.Text;

namespace ActorCkpt;

/// <summary>
/// The checkpoints under one root and the commit protocol. A step is committed exactly when its
/// directory holds <see cref="CheckpointLayout.MetadataFile"/> as a regular file: the metadata is written under a
/// temporary name, fsynced, then renamed (the commit point), and only then does the "latest"
/// tracker move. A crash before the rename leaves the previous checkpoint the newest one.
/// Everything read back is untrusted: only regular files are opened (<see cref="IBlobStore.OpenRead"/>),
/// and each file's size is checked against a bound before it is read.
/// </summary>
/// <param name="store">The root's byte storage.</param>
/// <param name="maxMetadataBytes">
/// The largest metadata document read (<see cref="DefaultMaxMetadataBytes"/> unless given); a larger
/// one is refused before it is read. Never more than one array holds (<see cref="Array.MaxLength"/>).
/// </param>
internal sealed class CheckpointStore(IBlobStore store, long maxMetadataBytes = CheckpointStore.DefaultMaxMetadataBytes)
{
    /// <summary>The default bound on a metadata document: 1 GiB, far above the 167 MB of 4,096 ranks × 256 items.</summary>
    public const long DefaultMaxMetadataBytes = 1L << 30;

    /// <summary>
    /// Blocks in which metadata opened by index is fetched from an object store: a small document is
    /// one request; a rank's part of a large one (about 2 MB of 64 MB at 4,096 ranks) a few dozen.
    /// </summary>
    public const int MetadataBlockBytes = 1 << 20;

    /// <summary>The bound on the "latest" tracker and the root id file, each one short line.</summary>
    public const long MaxSmallFileBytes = 4096;

    /// <summary>The bound on a metadata document actually applied.</summary>
    public long MaxMetadataBytes { get; } = maxMetadataBytes > 0
        ? Math.Min(maxMetadataBytes, Array.MaxLength)
        : throw new ArgumentOutOfRangeException(nameof(maxMetadataBytes), maxMetadataBytes, "the bound on metadata documents must be positive");

    /// <summary>The underlying byte storage.</summary>
    public IBlobStore Blobs => store;

    /// <summary>
    /// The memory tier's steps: their metadata lives under <c>&lt;root&gt;/memory</c>, read and written
    /// through the same store code (and wrappers) as disk steps'.
    /// </summary>
    public CheckpointStore MemorySteps() => new(new PrefixedBlobStore(store, CheckpointLayout.MemoryDirectory));

    /// <summary>
    /// True when step <paramref name="step"/> is committed: its metadata is a regular file. A FIFO or a
    /// link there is debris (a commit only ever renames a regular file into place), which a new save of
    /// the step or gc removes as it removes other debris; nothing is opened.
    /// </summary>
    public bool IsCommitted(long step) => store.IsRegularFile(CheckpointLayout.InStep(step, CheckpointLayout.MetadataFile));

    /// <summary>
    /// Committed steps, oldest first. Directories without metadata (aborted or torn saves) are not
    /// checkpoints, nor are those whose metadata is not a regular file (a FIFO or a link put there:
    /// a commit only ever renames a regular file into place) or that cannot be looked into: such
    /// debris never hides or blocks the real checkpoints. Nothing is opened.
    /// </summary>
    public IReadOnlyList<long> CommittedSteps() => StepDirectories().Where(HasRegularMetadata).Order().ToArray();

    /// <summary>The steps with a directory under the root, committed or not, in the listing's order; nothing is opened.</summary>
    public IEnumerable<long> StepDirectories() =>
        store.ListDirectories("").Select(name => CheckpointLayout.TryParseStepDirectory(name, out var s) ? s : -1).Where(s => s >= 0);

    /// <summary>True when step <paramref name="step"/>'s metadata is a regular file; false for anything else, or a directory that cannot be looked into; a store that does not answer throws (<see cref="StorageErrors.IsUnanswered"/>).</summary>
    private bool HasRegularMetadata(long step)
    {
        try
        {
            return store.IsRegularFile(CheckpointLayout.InStep(step, CheckpointLayout.MetadataFile));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException && !StorageErrors.IsUnanswered(e))
        {
            return false;
        }
    }

    /// <summary>The newest committed step, or null when there is none.</summary>
    public long? LatestStep()
    {
        var steps = CommittedSteps();
        return steps.Count == 0 ? null : steps[^1];
    }

    /// <summary><paramref name="step"/>, or the newest committed step when null; throws <see cref="CheckpointNotFoundException"/> when there is none.</summary>
    public long ResolveStep(long? step) =>
        step ?? LatestStep() ?? throw new CheckpointNotFoundException($"no committed checkpoint in '{store.Root}'");

    /// <summary>
    /// The document this store parsed last: the ranks of a node loading one step share one parse,
    /// which costs more than reading the document (at 4,096 ranks × 256 items, 1.4–2.3 s for 167 MB).
    /// Only one is kept, as its parsed form is large (267 MB there).
    /// </summary>
    private readonly ParsedMetadataCache _parsed = new(capacity: 1);

    /// <summary>
    /// Reads the metadata of committed step <paramref name="step"/>. With <paramref name="expectedChecksum"/>
    /// (the <see cref="Checksum"/> the catalog recorded at commit), a document whose bytes differ
    /// throws <see cref="CheckpointFormatException"/> before it is parsed. A document whose "step"
    /// is not <paramref name="step"/> (another step's metadata copied here) is refused too. Unchanged
    /// bytes are parsed once and the result shared: callers must not change it.
    /// </summary>
    public CheckpointMetadata ReadMetadata(long step, string? expectedChecksum = null) => Read(step, expectedChecksum).Metadata;

    /// <summary>
    /// Reads the metadata of committed step <paramref name="step"/> as <see cref="ReadMetadata"/> does
    /// without a catalog, and returns with it the <see cref="Checksum"/> of the bytes it parsed, for a
    /// caller that compares it with the catalog's itself (and reports a difference with other problems).
    /// </summary>
    public (CheckpointMetadata Metadata, string Checksum) ReadMetadataWithChecksum(long step) => Read(step, expectedChecksum: null);

    /// <summary>The refusal of step <paramref name="step"/>'s metadata whose checksum is <paramref name="actual"/>, not the catalog's <paramref name="expected"/>.</summary>
    public static CheckpointFormatException ChecksumDiffers(long step, string actual, string expected) =>
        new(CheckpointLayout.InStep(step, CheckpointLayout.MetadataFile), ChecksumDiffers(actual, expected));

    /// <summary>What is wrong with metadata whose checksum is <paramref name="actual"/>, not the catalog's <paramref name="expected"/>.</summary>
    public static string ChecksumDiffers(string actual, string expected) =>
        $"its checksum {actual} differs from the {expected} the catalog recorded at commit: the document was changed or corrupted";

    /// <summary>Step <paramref name="step"/>'s metadata (parsed once per distinct document) and its checksum; see <see cref="ReadMetadata"/>.</summary>
    private (CheckpointMetadata Metadata, string Checksum) Read(long step, string? expectedChecksum)
    {
        var read = Deserialize(OpenMetadataFile(step, expectedChecksum), CheckpointLayout.InStep(step, CheckpointLayout.MetadataFile), MaxMetadataBytes, expectedChecksum, _parsed, $"{step}:");
        CheckStepField(step, read.Metadata.Step);
        return read;
    }

    /// <summary>
    /// Parses and validates a committed metadata file of either form: binary (<see cref="MetadataBinary"/>,
    /// told by its first byte) or the JSON document of format version 1 (<see cref="MetadataJson"/>).
    /// </summary>
    public static CheckpointMetadata Deserialize(byte[] bytes, string file)
    {
        if (!MetadataBinary.IsBinary(bytes)) return MetadataJson.Deserialize(bytes, file);
        using var index = MetadataIndex.Open(bytes, file, expectedChecksum: null);
        return Validated(index.ReadAll(), file);
    }

    /// <summary>
    /// Parses and validates the committed metadata <paramref name="file"/> open in <paramref name="reader"/>
    /// (which this disposes) and returns it with its <see cref="Checksum"/>. It is refused when over
    /// <paramref name="maxBytes"/> (before a byte is read) or when its checksum is not
    /// <paramref name="expectedChecksum"/> (unless that is null or empty; before it is parsed).
    /// A local file in the binary form is read by index, a tensor's pages at a time, never whole;
    /// a JSON document, or metadata in an object store (where every read is a request), is read whole.
    /// With <paramref name="cache"/>, each distinct document (<paramref name="cacheKey"/>, its length
    /// and checksum) is parsed once.
    /// </summary>
    internal static (CheckpointMetadata Metadata, string Checksum) Deserialize(IBlobReader reader, string file, long maxBytes,
        string? expectedChecksum, ParsedMetadataCache? cache = null, string cacheKey = "")
    {
        CheckpointMetadata Cached(long length, string checksum, Func<CheckpointMetadata> parse) =>
            cache is null ? parse() : cache.GetOrParse($"{cacheKey}{length}:{checksum}", parse);

        if (!ReadsByIndex(reader, file, maxBytes))
        {
            byte[] bytes;
            using (reader) bytes = ReadWhole(reader);
            var checksum = Checksum(bytes);
            if (expectedChecksum is { Length: > 0 } && checksum != expectedChecksum)
                throw new CheckpointFormatException(file, ChecksumDiffers(checksum, expectedChecksum));
            return (Cached(bytes.Length, checksum, () => Deserialize(bytes, file)), checksum);
        }
        using var index = MetadataIndex.Open(reader, file, expectedChecksum);
        return (Cached(reader.Length, index.Checksum, () => Validated(index.ReadAll(), file)), index.Checksum);
    }

    /// <summary>
    /// True when <paramref name="reader"/> holds binary metadata worth reading by index: a local file,
    /// or an object gathered into blocks (<see cref="BlockCachedReader"/>), whose first byte starts the
    /// binary form. Throws (disposing the reader) when it is over <paramref name="maxBytes"/>.
    /// </summary>
    private static bool ReadsByIndex(IBlobReader reader, string file, long maxBytes)
    {
        try
        {
            RegularFile.CheckSize(file, reader.Length, maxBytes, "a metadata document");
            if (reader.ReadsAreRequests || reader.Length == 0) return false;
            Span<byte> first = stackalloc byte[1];
            reader.ReadExactly(first, 0);
            return MetadataBinary.IsBinary(first);
        }
        catch
        {
            reader.Dispose();
            throw;
        }
    }

    /// <summary><paramref name="metadata"/> when it is self-consistent; otherwise the refusal of <paramref name="file"/> naming every problem.</summary>
    private static CheckpointMetadata Validated(CheckpointMetadata metadata, string file)
    {
        var problems = MetadataValidator.Validate(metadata);
        return problems.Count == 0 ? metadata : throw new CheckpointFormatException(file, "inconsistent metadata: " + Problems.Line(problems));
    }

    /// <summary>
    /// Opens the metadata of committed step <paramref name="step"/> by index, for a rank that reads
    /// only its part (<see cref="MetadataIndex.ForRank"/>): the binary form's header and directory are
    /// read and checked against <paramref name="expectedChecksum"/> (the catalog's, not checked when
    /// empty), nothing more yet. A step in the JSON form is read whole (<see cref="ReadMetadata"/>).
    /// The caller disposes the index.
    /// </summary>
    public MetadataIndex OpenMetadata(long step, string? expectedChecksum = null)
    {
        var path = CommittedMetadataPath(step, expectedChecksum);
        var reader = store.OpenRead(path);
        // Reading by index is many small reads: from an object store, gathered into blocks.
        if (reader.ReadsAreRequests) reader = new BlockCachedReader(reader, MetadataBlockBytes);
        if (!ReadsByIndex(reader, path, MaxMetadataBytes))
        {
            reader.Dispose();
            var metadata = ReadMetadata(step, expectedChecksum);
            return MetadataIndex.Whole(metadata, expectedChecksum ?? "");
        }
        var index = MetadataIndex.Open(reader, path, expectedChecksum);
        try
        {
            CheckStepField(step, index.Step);
        }
        catch
        {
            index.Dispose();
            throw;
        }
        return index;
    }

    /// <summary>
    /// Throws naming the file and both steps when the step <paramref name="recorded"/> in metadata read from step
    /// <paramref name="step"/>'s directory, describes another step: a document copied from one step
    /// to another is well formed and self-consistent, and would hand back that other step's tensors.
    /// </summary>
    private static void CheckStepField(long step, long recorded)
    {
        if (recorded != step)
            throw new CheckpointFormatException(CheckpointLayout.InStep(step, CheckpointLayout.MetadataFile),
                $"\"step\" is {recorded} but the document is in the directory of step {step}: it is another step's metadata, not this step's");
    }

    /// <summary>Frees the parsed documents <see cref="ReadMetadata"/> keeps; the next read of each parses it again.</summary>
    public void ForgetParsedMetadata() => _parsed.Clear();

    /// <summary>
    /// The metadata document of committed step <paramref name="step"/>, as stored. Refuses at once
    /// metadata that is not a regular file (<see cref="NotARegularFileException"/>) or is larger than
    /// <see cref="MaxMetadataBytes"/> (<see cref="CheckpointFormatException"/>), before reading it.
    /// </summary>
    public byte[] ReadMetadataBytes(long step) => ReadBounded(CommittedMetadataPath(step), MaxMetadataBytes, "a metadata document");

    /// <summary>
    /// Which form committed step <paramref name="step"/>'s metadata is in, for people: "binary form
    /// (layout version 2)" or "JSON form (format_version 1)"; reads its first byte only.
    /// </summary>
    public string MetadataForm(long step)
    {
        using var reader = OpenMetadataFile(step);
        Span<byte> first = stackalloc byte[1];
        if (reader.Length > 0) reader.ReadExactly(first, 0);
        return reader.Length > 0 && MetadataBinary.IsBinary(first)
            ? $"binary form (layout version {MetadataBinary.LayoutVersion})"
            : $"JSON form (format_version {CheckpointMetadata.CurrentFormatVersion})";
    }

    /// <summary>Opens the metadata file of committed step <paramref name="step"/>; throws as <see cref="CommittedMetadataPath"/> does when there is none.</summary>
    private IBlobReader OpenMetadataFile(long step, string? expectedChecksum = null) => store.OpenRead(CommittedMetadataPath(step, expectedChecksum));

    /// <summary>
    /// Where the metadata of committed step <paramref name="step"/> lies. When there is none: a
    /// <see cref="CheckpointFormatException"/> when the catalog recorded the step committed (its
    /// <paramref name="expectedChecksum"/>): that is damage, as a load of it says, not a step that never was;
    /// otherwise <see cref="CheckpointNotFoundException"/>.
    /// </summary>
    private string CommittedMetadataPath(long step, string? expectedChecksum = null)
    {
        var path = CheckpointLayout.InStep(step, CheckpointLayout.MetadataFile);
        if (store.Exists(path)) return path;
        if (expectedChecksum is { Length: > 0 }) StepConsistency.RequireMetadataFile(this, step);
        return store.Exists(path) ? path : throw new CheckpointNotFoundException($"step {step} is not a committed checkpoint in '{store.Root}'");
    }

    /// <summary>The bytes of <paramref name="path"/>, refused before reading when over <paramref name="maxBytes"/> (<paramref name="what"/> names the kind of file in that message).</summary>
    private byte[] ReadBounded(string path, long maxBytes, string what)
    {
        using var reader = store.OpenRead(path);
        RegularFile.CheckSize(path, reader.Length, maxBytes, what);
        return ReadWhole(reader);
    }

    /// <summary>Every byte of <paramref name="reader"/> (whose length the caller bounded).</summary>
    private static byte[] ReadWhole(IBlobReader reader)
    {
        // Not zeroed first: the read fills every byte or throws.
        var bytes = GC.AllocateUninitializedArray<byte>(checked((int)reader.Length));
        reader.ReadExactly(bytes, 0);
        return bytes;
    }

    /// <summary>
    /// Makes an empty directory for a new save of <paramref name="step"/>. Throws
    /// <see cref="StepAlreadyCommittedException"/> when the step is committed; removes the
    /// debris of an earlier save of the same step that never committed.
    /// </summary>
    public void PrepareStep(long step)
    {
        if (IsCommitted(step)) throw new StepAlreadyCommittedException(step, store.Root);
        var dir = CheckpointLayout.StepDirectory(step);
        store.DeleteDirectory(dir);
        store.CreateDirectory(dir);
    }

    /// <summary>
    /// Commits <paramref name="metadata"/>: <see cref="StageMetadata"/>, then <see cref="PublishMetadata"/>.
    /// Once this returns, the step is committed. Returns the metadata's checksum.
    /// </summary>
    public string Commit(CheckpointMetadata metadata)
    {
        var checksum = StageMetadata(metadata);
        PublishMetadata(metadata.Step);
        return checksum;
    }

    /// <summary>
    /// First half of a commit: the step directory is fsynced (so its data files' entries are
    /// durable), and the metadata is written under a temporary name and fsynced. Nothing is
    /// committed yet. Returns the checksum of the metadata document (see <see cref="Checksum"/>).
    /// Throws <see cref="StepAlreadyCommittedException"/> when the step is committed.
    /// </summary>
    public string StageMetadata(CheckpointMetadata metadata)
    {
        var step = metadata.Step;
        if (IsCommitted(step)) throw new StepAlreadyCommittedException(step, store.Root);
        store.SyncDirectory(CheckpointLayout.StepDirectory(step));
        // Streamed to the file section by section (the binary form), never built whole in memory first.
        using var writer = store.Create(CheckpointLayout.InStep(step, CheckpointLayout.MetadataTempFile));
        var (_, seal) = MetadataBinaryWriter.Write(metadata, writer);
        writer.Flush();
        return BlockChecksums.ToHex(seal);
    }

    /// <summary>
    /// Second half of a commit: renames the staged metadata to <see cref="CheckpointLayout.MetadataFile"/>
    /// without replacing anything. That rename is the commit point. Throws
    /// <see cref="StepAlreadyCommittedException"/> when another save committed the step first.
    /// </summary>
    public void PublishMetadata(long step)
    {
        try
        {
            store.Rename(CheckpointLayout.InStep(step, CheckpointLayout.MetadataTempFile), CheckpointLayout.InStep(step, CheckpointLayout.MetadataFile), overwrite: false);
        }
        catch (IOException) when (IsCommitted(step) && !store.Exists(CheckpointLayout.InStep(step, CheckpointLayout.MetadataTempFile)))
        {
            // The rename happened and only making it durable failed: the step is committed all the same.
        }
        catch (IOException) when (IsCommitted(step))
        {
            throw new StepAlreadyCommittedException(step, store.Root);
        }
    }

    /// <summary>Whether the root has its id (<see cref="RootId"/>) already; asking never writes it.</summary>
    public bool HasRootId() => store.Exists(CheckpointLayout.RootIdFile);

    /// <summary>
    /// The root's identity: a random id written durably to <see cref="CheckpointLayout.RootIdFile"/>
    /// the first time it is asked for (by whichever node gets there first; the others read it).
    /// Catalogs are keyed by it, so jobs on different roots never share a catalog, even in one database.
    /// Refused where another root's object tier is (<see cref="ObjectTierOf"/>): a root made there would
    /// take that root's uploads for steps of its own, and its retention would delete them.
    /// </summary>
    public string RootId()
    {
        if (!store.Exists(CheckpointLayout.RootIdFile))
        {
            if (TierOfAnotherRoot() is { } problem) throw new ActorCkptException(problem);
            WriteOnce(CheckpointLayout.RootIdFile, Guid.NewGuid().ToString("N"));
        }
        return ReadId(CheckpointLayout.RootIdFile, "a root id") is { } id ? id
            : throw new CheckpointFormatException(CheckpointLayout.RootIdFile, "is not a root id (32 lowercase hex digits)");
    }

    /// <summary>
    /// One line when this store has no root id and is another root's object tier (<see cref="ObjectTierOf"/>):
    /// a root made there would take that root's uploads for steps of its own, and its retention would delete
    /// them; null otherwise. A node asks before it touches the store (<see cref="RootId"/> refuses too).
    /// </summary>
    public string? TierOfAnotherRoot() => !HasRootId() && ObjectTierOf() is { } owner
        ? ObjectTierRoot.OfAnotherRoot(store.Root, owner)
          + $": a checkpoint root made there would take that root's uploads for steps of its own; give it {(BlobStores.IsDirectory(store.Root) ? "a directory" : "a prefix")} of its own"
        : null;

    /// <summary>
    /// Marks this store as the object tier of the root with id <paramref name="rootId"/>, unless it is
    /// marked already (the first root to upload stays named: a root that lost its disk uploads on under a
    /// new id); returns the id the marker names then, as <see cref="ObjectTierOf"/>.
    /// </summary>
    public string MarkObjectTierOf(string rootId)
    {
        if (!store.Exists(CheckpointLayout.ObjectTierMarkerFile)) WriteOnce(CheckpointLayout.ObjectTierMarkerFile, rootId);
        return ObjectTierOf()!;
    }

    /// <summary>
    /// The id of the root this store is the object tier of (<see cref="MarkObjectTierOf"/>), "" when its
    /// marker does not hold one, or null when it is no tier's root; asking never writes.
    /// </summary>
    public string? ObjectTierOf()
    {
        if (!store.Exists(CheckpointLayout.ObjectTierMarkerFile)) return null;
        try
        {
            return ReadId(CheckpointLayout.ObjectTierMarkerFile, "a root id") ?? "";
        }
        catch (CheckpointFormatException)
        {
            return "";
        }
    }

    /// <summary>
    /// The last journal event the root's <see cref="CheckpointLayout.MarkFile"/> allows for (<see cref="SharedCatalogCheck"/>),
    /// or null when it has none. Throws <see cref="CheckpointFormatException"/> for a file that holds something else, and for a directory there.
    /// </summary>
    public long? ReadMark()
    {
        if (!store.Exists(CheckpointLayout.MarkFile))
            return store.ListDirectories("").Contains(CheckpointLayout.MarkFile)
                ? throw new CheckpointFormatException(CheckpointLayout.MarkFile, "is a directory, not a regular file")
                : null;
        var text = Encoding.ASCII.GetString(ReadBounded(CheckpointLayout.MarkFile, MaxSmallFileBytes, "a catalog mark")).Trim();
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var mark)
            ? mark
            : throw new CheckpointFormatException(CheckpointLayout.MarkFile, "is not a catalog mark (the number of a journal event)");
    }

    /// <summary>Replaces the root's <see cref="CheckpointLayout.MarkFile"/> with <paramref name="mark"/>, durably, in one rename.</summary>
    public void WriteMark(long mark)
    {
        var temp = TempName(CheckpointLayout.MarkFile);
        WriteThroughTemp(temp, Encoding.ASCII.GetBytes(mark.ToString(CultureInfo.InvariantCulture) + "\n"),
            () => store.Rename(temp, CheckpointLayout.MarkFile, overwrite: true));
        store.SyncDirectory("");
    }

    /// <summary>Writes <paramref name="id"/> to <paramref name="path"/> durably unless a file is there: whoever renames first stands.</summary>
    private void WriteOnce(string path, string id)
    {
        var temp = TempName(path);
        WriteThroughTemp(temp, Encoding.ASCII.GetBytes(id + "\n"), () =>
        {
            try
            {
                store.Rename(temp, path, overwrite: false);
            }
            catch (IOException) when (store.Exists(path))
            {
                // Another node wrote it first: theirs stands.
                store.DeleteFile(temp);
            }
        });
    }

    /// <summary>A temporary name of its own next to <paramref name="path"/>, for files several nodes may write at once.</summary>
    private static string TempName(string path) => path + "." + Guid.NewGuid().ToString("N") + ".tmp";

    /// <summary>
    /// Writes <paramref name="bytes"/> durably to <paramref name="temp"/>, then has <paramref name="place"/>
    /// move it into place. When anything fails (a full disk, something in the way) the temporary file
    /// goes: a start that keeps failing leaves none behind, let alone one per try.
    /// </summary>
    private void WriteThroughTemp(string temp, byte[] bytes, Action place)
    {
        try
        {
            WriteDurably(temp, bytes);
            place();
        }
        catch
        {
            try
            {
                store.DeleteFile(temp);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The failure that matters is the one rethrown.
            }
            throw;
        }
    }

    /// <summary>The id in small file <paramref name="path"/> (32 lowercase hex digits), or null when it holds something else.</summary>
    private string? ReadId(string path, string what)
    {
        var id = Encoding.ASCII.GetString(ReadBounded(path, MaxSmallFileBytes, what)).Trim();
        return id.Length == 32 && id.All(char.IsAsciiHexDigitLower) ? id : null;
    }

    /// <summary>
    /// The catalog's checksum of a committed metadata file, 16 hex digits: xxHash3-64 of the binary
    /// form's header and directory (which checksum the rest), or of all the JSON form's bytes.
    /// </summary>
    public static string Checksum(ReadOnlySpan<byte> metadataBytes) => BlockChecksums.ToHex(MetadataBinary.CatalogChecksum(metadataBytes));

    /// <summary>
    /// Every step directory under the root, with what its metadata says when it has metadata and
    /// <paramref name="describe"/> wants it (parsing metadata costs; pass a filter to parse only
    /// the steps you need). Directories that cannot be read (unparsable metadata, a link) are
    /// listed apart, each with why, so a caller can leave them alone.
    /// </summary>
    public StepScan ScanSteps(Func<long, bool> describe)
    {
        var found = new List<StepOnDisk>();
        var unreadable = new List<(long, string)>();
        foreach (var name in store.ListDirectories(""))
        {
            if (!CheckpointLayout.TryParseStepDirectory(name, out var step)) continue;
            try
            {
                found.Add(Describe(step, describe));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CheckpointFormatException)
            {
                unreadable.Add((step, e.Message));
            }
        }
        return new StepScan(found, unreadable);
    }

    private StepOnDisk Describe(long step, Func<long, bool> describe)
    {
        // Metadata that is no regular file (a FIFO, a link) is no commit: the step is debris, unless
        // the catalog says it committed (the reconciler and gc leave such a step alone, the readers refuse it).
        if (!IsCommitted(step)) return new StepOnDisk(step, null);
        if (!describe(step)) return new StepOnDisk(step, new CommitOnDisk("", 0, 0));
        var (metadata, checksum) = Deserialize(OpenMetadataFile(step), CheckpointLayout.InStep(step, CheckpointLayout.MetadataFile), MaxMetadataBytes, expectedChecksum: null);
        CheckStepField(step, metadata.Step);
        return new StepOnDisk(step, new CommitOnDisk(checksum, metadata.Files.Count, metadata.TotalFileBytes));
    }

    /// <summary>
    /// Removes step <paramref name="step"/>, committed or not: first its metadata (durably, so a
    /// crash halfway leaves debris, never a checkpoint with files missing), then the directory.
    /// <paramref name="uncommitted"/> runs in between (crash tests stop the process there).
    /// </summary>
    public void Delete(long step, Action? uncommitted = null)
    {
        var metadata = CheckpointLayout.InStep(step, CheckpointLayout.MetadataFile);
        if (IsCommitted(step))
        {
            // Renaming it away un-commits the step atomically; the directory goes after.
            store.Rename(metadata, CheckpointLayout.InStep(step, CheckpointLayout.MetadataTempFile), overwrite: true);
        }
        uncommitted?.Invoke();
        store.DeleteDirectory(CheckpointLayout.StepDirectory(step));
    }

    /// <summary>
    /// Moves the "latest" tracker to <paramref name="step"/> unless it names a newer committed step
    /// (one that names a step not committed here, left by hand or by a copy, is repaired). Called
    /// after a commit; the tracker is a convenience for tools and humans (loads resolve the newest
    /// step from the catalog, tools from the directories), so a failure here loses nothing.
    /// </summary>
    public void MoveTracker(long step)
    {
        long? tracked;
        try
        {
            tracked = ReadTracker();
        }
        catch (Exception e) when (e is NotARegularFileException or UnauthorizedAccessException)
        {
            // Something put in its place (a FIFO, a link: refused unread): the rename below replaces it.
            tracked = null;
        }
        if (tracked is { } newer && step < newer && IsCommitted(newer)) return;
        // One name: one writer per store at a time (its planner, or the object tier's uploader on its target).
        const string temp = CheckpointLayout.LatestFile + ".tmp";
        WriteThroughTemp(temp, Encoding.ASCII.GetBytes(step.ToString(CultureInfo.InvariantCulture) + "\n"),
            () => store.Rename(temp, CheckpointLayout.LatestFile, overwrite: true));
    }

    /// <summary>The folder under the root where <see cref="Quarantine"/> moves steps that failed verification.</summary>
    public const string QuarantineDirectory = "quarantine";

    /// <summary>
    /// Moves step <paramref name="step"/>'s directory, whole, into <see cref="QuarantineDirectory"/>
    /// (no longer a step of this root, nothing deleted); returns its new path under the root.
    /// A name already taken there gets a numbered suffix.
    /// </summary>
    public string Quarantine(long step)
    {
        try
        {
            store.CreateDirectory(QuarantineDirectory);
        }
        catch (IOException e) when (store.Exists(QuarantineDirectory))
        {
            // .NET says "the file already exists", which reads as if the folder did.
            throw new IOException($"'{Path.Combine(store.Root, QuarantineDirectory)}' is a file, where the root keeps the steps that failed verification: move it away and run again (step {step} was not moved)", e);
        }
        var name = CheckpointLayout.StepDirectory(step);
        var taken = store.ListDirectories(QuarantineDirectory).ToHashSet(StringComparer.Ordinal);
        var free = Enumerable.Range(0, int.MaxValue).Select(n => n == 0 ? name : $"{name}.{n}").First(n => !taken.Contains(n));
        var target = QuarantineDirectory + "/" + free;
        store.Rename(name, target, overwrite: false);
        return target;
    }

    /// <summary>Removes the directory of step <paramref name="step"/> when it is not committed; a committed step is never touched.</summary>
    public bool DeleteUncommitted(long step)
    {
        if (IsCommitted(step)) return false;
        store.DeleteDirectory(CheckpointLayout.StepDirectory(step));
        return true;
    }

    /// <summary>
    /// The step named by the "latest" tracker, or null when there is none or it does not hold a step
    /// (a tracker over <see cref="MaxSmallFileBytes"/> is not read). Throws
    /// <see cref="NotARegularFileException"/> when the tracker is not a regular file.
    /// </summary>
    public long? ReadTracker()
    {
        if (!store.Exists(CheckpointLayout.LatestFile)) return null;
        using var reader = store.OpenRead(CheckpointLayout.LatestFile);
        if (reader.Length > MaxSmallFileBytes) return null;
        var bytes = new byte[reader.Length];
        reader.ReadExactly(bytes, 0);
        return long.TryParse(Encoding.ASCII.GetString(bytes).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : null;
    }

    private void WriteDurably(string path, byte[] bytes)
    {
        IBlobWriter writer;
        try
        {
            writer = store.Create(path);
        }
        catch (NotARegularFileException)
        {
            // A temporary name of ours with a FIFO or the like in its place: removed (never opened), as the rename after would replace it.
            store.DeleteFile(path);
            writer = store.Create(path);
        }
        using var _ = writer;
        writer.Write(bytes, 0);
        writer.Flush();
    }
}

/// <summary>What <see cref="CheckpointStore.ScanSteps"/> found.</summary>
/// <param name="Steps">The step directories it could read.</param>
/// <param name="UnreadableSteps">The ones it could not, each with why.</param>
internal sealed record StepScan(IReadOnlyList<StepOnDisk> Steps, IReadOnlyList<(long Step, string Why)> UnreadableSteps)
{
    /// <summary>The step directories it could not read, each "'name': why".</summary>
    public IReadOnlyList<string> Unreadable => UnreadableSteps.Select(u => $"'{CheckpointLayout.StepDirectory(u.Step)}': {u.Why}").ToArray();
}
