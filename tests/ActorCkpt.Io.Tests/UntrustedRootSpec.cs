using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using static ActorCkpt.Io.Tests.UntrustedFiles;

namespace ActorCkpt.Io.Tests;

/// <summary>
/// A checkpoint root others write to: FIFOs, sockets and links where files go, files too large to
/// read, sizes that overflow. Each is refused at once with one error naming the file and what is
/// wrong; nothing waits (each operation is bounded by <see cref="UntrustedFiles.Deadline"/>), and
/// debris in one step never keeps the others from loading.
/// </summary>
public class UntrustedRootSpec : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private CheckpointStore Saved(long step = 1, long maxMetadataBytes = CheckpointStore.DefaultMaxMetadataBytes, bool json = false)
    {
        SavedCheckpoint.Save(new CheckpointStore(new LocalBlobStore(_dir.Path)), step, world: 2, json: json);
        return new CheckpointStore(new LocalBlobStore(_dir.Path), maxMetadataBytes);
    }

    private string InStep(long step, string file) => Path.Combine(_dir.Path, CheckpointLayout.StepDirectory(step), file);

    [Fact]
    public void An_open_that_fails_otherwise_should_say_why_in_the_systems_words()
    {
        // A name over NAME_MAX (255 bytes): ENAMETOOLONG. Before: "cannot open '…' (errno 36)", which a reader had to look up.
        var path = Path.Combine(_dir.Path, new string('x', 300));

        var e = Assert.Throws<IOException>(() => RegularFile.OpenRead(path).Dispose());

        Assert.Equal($"cannot open '{path}': File name too long (errno 36)", e.Message);
    }

    [Fact]
    public async Task A_FIFO_in_place_of_committed_metadata_should_be_refused_at_once_naming_it()
    {
        var store = Saved();
        var path = InStep(1, CheckpointLayout.MetadataFile);
        MakeFifo(path);

        var e = await Refused<NotARegularFileException>(() => store.ReadMetadata(1));

        Assert.Equal($"'{path}' is a FIFO, not a regular file", e.Message);
        Assert.True(StorageErrors.IsPermanent(e));
    }

    [Fact]
    public async Task A_FIFO_metadata_in_an_uncommitted_step_should_be_debris_that_neither_hides_nor_blocks_the_committed_steps()
    {
        var store = Saved();
        Directory.CreateDirectory(InStep(9, ""));
        MakeFifo(InStep(9, CheckpointLayout.MetadataFile));
        File.WriteAllText(InStep(9, "garbage.bin"), "not ours");

        var committed = await Bounded(store.CommittedSteps);
        var latest = await Bounded(store.LatestStep);
        await Bounded(() => { SavedCheckpoint.LoadAll(store); return true; });
        var described = await Bounded(() => store.ScanSteps(_ => true));
        var listed = await Bounded(() => store.ScanSteps(_ => false));

        Assert.Equal(new long[] { 1 }, committed);
        Assert.Equal(1, latest);
        Assert.False(store.IsCommitted(9));
        foreach (var scan in new[] { described, listed })
        {
            // A commit only ever renames a regular file into place: a FIFO there is no commit, so step 9 is debris.
            Assert.Equal(new[] { (1L, true), (9L, false) }, scan.Steps.Select(s => (s.Step, s.Commit is not null)));
            Assert.Empty(scan.Unreadable);
        }
        Assert.True(await Bounded(() => store.DeleteUncommitted(9)));
        Assert.False(Directory.Exists(InStep(9, "")));
    }

    [Theory]
    [InlineData("fifo")]
    [InlineData("link")]
    public async Task A_save_of_a_step_whose_metadata_is_a_FIFO_or_a_link_should_clear_that_debris_and_commit(string kind)
    {
        var store = Saved();
        var outside = Path.Combine(_dir.Path, "elsewhere.json");
        File.WriteAllText(outside, "not ours");
        Directory.CreateDirectory(InStep(2, ""));
        if (kind == "fifo") MakeFifo(InStep(2, CheckpointLayout.MetadataFile));
        else File.CreateSymbolicLink(InStep(2, CheckpointLayout.MetadataFile), outside);
        File.WriteAllText(InStep(2, "garbage.bin"), "not ours");

        // Before: "step 2 is already committed in '…'; refusing to overwrite it" (FIFO), or the link refused.
        await Bounded(() => { SavedCheckpoint.Save(store, 2, world: 2); return true; });

        Assert.Equal(new long[] { 1, 2 }, store.CommittedSteps());
        Assert.Equal(2, store.ReadMetadata(2).Step);
        Assert.False(File.Exists(InStep(2, "garbage.bin")));
        Assert.Equal("not ours", File.ReadAllText(outside)); // the link was removed, never followed
    }

    [Fact]
    public async Task A_FIFO_in_place_of_a_data_file_should_fail_load_and_verify_at_once_naming_it()
    {
        var store = Saved();
        var file = store.ReadMetadata(1).Files[0].Name;
        MakeFifo(InStep(1, file));

        var load = await Refused<NotARegularFileException>(() => SavedCheckpoint.LoadAll(store));
        var verify = await Bounded(() => CheckpointVerifier.Verify(store, 1));

        var message = $"'{InStep(1, file)}' is a FIFO, not a regular file";
        Assert.Equal(message, load.Message);
        Assert.Equal(new VerificationFailure(file, "(file)", message), Assert.Single(verify));
    }

    [Fact]
    public void A_directory_in_place_of_a_data_file_should_be_named_as_one_by_verify_and_the_reader_checks()
    {
        var store = Saved();
        var file = store.ReadMetadata(1).Files[0].Name;
        File.Delete(InStep(1, file));
        Directory.CreateDirectory(InStep(1, file));

        // Before: "missing", as if nothing were there.
        var message = $"'{InStep(1, file)}' is a directory, not a regular file";
        Assert.Equal(new VerificationFailure(file, "(file)", message), Assert.Single(CheckpointVerifier.Verify(store, 1)));
        Assert.Equal(new VerificationFailure(file, "(file)", message), Assert.Single(StepConsistency.CheckFiles(store, 1, store.ReadMetadata(1))));
    }

    [Fact]
    public void A_file_named_quarantine_should_refuse_a_quarantine_naming_it_and_move_nothing()
    {
        var store = Saved();
        var file = Path.Combine(_dir.Path, CheckpointStore.QuarantineDirectory);
        File.WriteAllText(file, "not ours");

        // Before: .NET's "The file '…/quarantine' already exists."
        var refused = Assert.Throws<IOException>(() => store.Quarantine(1));
        Assert.Equal($"'{file}' is a file, where the root keeps the steps that failed verification: move it away and run again (step 1 was not moved)", refused.Message);
        Assert.Equal(new long[] { 1 }, store.CommittedSteps());
        Assert.Equal("not ours", File.ReadAllText(file));
    }

    /// <summary>Makes a data file a FIFO when verify opens it the second time (to read its blocks, after its header).</summary>
    private sealed class FifoOnSecondOpen(IBlobStore inner, string file, Action<string> makeFifo, string full) : DelegatingBlobStore(inner)
    {
        private int _opens;

        public override IBlobReader OpenRead(string path)
        {
            if (path.EndsWith(file, StringComparison.Ordinal) && Interlocked.Increment(ref _opens) == 2)
            {
                File.Delete(full);
                makeFifo(full);
            }
            return base.OpenRead(path);
        }
    }

    [Fact]
    public async Task A_data_file_replaced_while_verify_reads_the_step_should_be_one_problem_among_the_rest()
    {
        Saved();
        var file = new CheckpointStore(new LocalBlobStore(_dir.Path)).ReadMetadata(1).Files[0].Name;
        var store = new CheckpointStore(new FifoOnSecondOpen(new LocalBlobStore(_dir.Path), file, MakeFifo, InStep(1, file)));

        // Before, the second open threw out of verify instead of being listed.
        var verify = await Bounded(() => CheckpointVerifier.Verify(store, 1));

        Assert.Equal(new VerificationFailure(file, "(file)", $"'{InStep(1, file)}' is a FIFO, not a regular file"), Assert.Single(verify));
    }

    [Fact]
    public async Task A_socket_in_place_of_a_data_file_should_be_refused_naming_it()
    {
        var store = Saved();
        var file = store.ReadMetadata(1).Files[1].Name;
        using var socket = MakeSocket(InStep(1, file));

        var e = await Refused<NotARegularFileException>(() => store.Blobs.OpenRead(CheckpointLayout.InStep(1, file)).Dispose());

        Assert.Equal($"'{InStep(1, file)}' is a socket, not a regular file", e.Message);
        Assert.Equal(FileKind.Socket, e.Kind);
    }

    [Fact]
    public async Task A_FIFO_in_place_of_the_latest_tracker_should_be_refused_and_replaced_by_the_next_commit()
    {
        var store = Saved();
        var latest = Path.Combine(_dir.Path, CheckpointLayout.LatestFile);
        MakeFifo(latest);

        var e = await Refused<NotARegularFileException>(() => store.ReadTracker());
        await Bounded(() => { store.MoveTracker(1); return true; });

        Assert.Equal($"'{latest}' is a FIFO, not a regular file", e.Message);
        Assert.Equal(1, store.ReadTracker());
    }

    [Fact]
    public void A_link_in_place_of_the_latest_tracker_should_be_replaced_by_the_next_commit_and_what_it_names_left_alone()
    {
        var store = Saved();
        var latest = Path.Combine(_dir.Path, CheckpointLayout.LatestFile);
        var outside = Path.Combine(_dir.Path, "elsewhere");
        File.WriteAllText(outside, "not ours");
        File.Delete(latest);
        File.CreateSymbolicLink(latest, outside);

        // Before: refused at every commit ("'latest' … goes through the symbolic link"), the link left in place.
        store.MoveTracker(1);

        Assert.Null(new FileInfo(latest).LinkTarget);
        Assert.Equal(1, store.ReadTracker());
        Assert.Equal("not ours", File.ReadAllText(outside));
    }

    [Fact]
    public void A_tracker_that_cannot_be_written_should_leave_no_temporary_file_and_the_old_tracker_standing()
    {
        Saved();
        var full = new CheckpointStore(new FaultInjectingBlobStore(new LocalBlobStore(_dir.Path), FaultPolicy.DiskFullAfter(0, CheckpointLayout.LatestFile + ".tmp")));
        File.WriteAllText(Path.Combine(_dir.Path, CheckpointLayout.LatestFile), "1\n");

        Assert.ThrowsAny<IOException>(() => full.MoveTracker(1));

        // Before: an empty latest.tmp stayed in the root.
        Assert.False(File.Exists(Path.Combine(_dir.Path, CheckpointLayout.LatestFile + ".tmp")));
        Assert.Equal(1, full.ReadTracker());
    }

    [Fact]
    public void A_latest_tracker_naming_a_step_that_is_not_committed_should_be_repaired_by_the_next_commit()
    {
        var store = Saved();
        File.WriteAllText(Path.Combine(_dir.Path, CheckpointLayout.LatestFile), "99\n");

        store.MoveTracker(1);

        Assert.Equal(1, store.ReadTracker());
    }

    [Fact]
    public async Task A_FIFO_in_place_of_the_root_id_should_be_refused()
    {
        var store = Saved();
        var id = Path.Combine(_dir.Path, CheckpointLayout.RootIdFile);
        MakeFifo(id);

        var e = await Refused<NotARegularFileException>(() => store.RootId());

        Assert.Equal($"'{id}' is a FIFO, not a regular file", e.Message);
    }

    [Fact]
    public void The_root_s_catalog_mark_should_be_read_as_written_and_anything_else_there_refused_in_one_line()
    {
        var store = Saved();
        var file = Path.Combine(_dir.Path, CheckpointLayout.MarkFile);
        Assert.Null(store.ReadMark());
        store.WriteMark(1);
        Assert.Equal(1, store.ReadMark());
        store.WriteMark(43);
        Assert.Equal(43, store.ReadMark());
        Assert.Equal("43\n", File.ReadAllText(file));
        Assert.Empty(Directory.GetFiles(_dir.Path, "*.tmp"));

        foreach (var garbage in new[] { "", "x", "40 43", "-1", "+4", "99999999999999999999" })
        {
            File.WriteAllText(file, garbage);
            var e = Assert.Throws<CheckpointFormatException>(() => store.ReadMark());
            Assert.Equal("'catalog.mark': is not a catalog mark (the number of a journal event)", e.Message);
        }

        // A directory in its place: named, not taken for a missing mark; writing over it leaves no temporary file behind.
        File.Delete(file);
        Directory.CreateDirectory(file);
        Assert.Equal("'catalog.mark': is a directory, not a regular file", Assert.Throws<CheckpointFormatException>(() => store.ReadMark()).Message);
        Assert.ThrowsAny<IOException>(() => store.WriteMark(2));
        Assert.Empty(Directory.GetFiles(_dir.Path, "*.tmp"));
    }

    [Fact]
    public async Task A_symbolic_link_in_place_of_metadata_should_be_refused_and_not_listed_as_committed()
    {
        var store = Saved(1);
        SavedCheckpoint.Save(store, 2, world: 2);
        var path = InStep(2, CheckpointLayout.MetadataFile);
        var outside = Path.Combine(_dir.Path, "elsewhere.json");
        File.Move(path, outside);
        File.CreateSymbolicLink(path, outside);

        var committed = await Bounded(store.CommittedSteps);
        var e = await Refused<UnauthorizedAccessException>(() => store.ReadMetadata(2));

        Assert.Equal(new long[] { 1 }, committed);
        Assert.Equal($"'step-00000002/metadata.json' in '{_dir.Path}' goes through the symbolic link '{path}' (to '{outside}'): "
                     + "links are refused so that nothing outside the checkpoint directory is read or written", e.Message);
    }

    [Fact]
    public async Task A_metadata_document_over_2_GB_should_be_refused_before_it_is_read()
    {
        var store = Saved();
        // Sparse: no bytes are written, but the length is what a reader would allocate.
        MakeSparse(InStep(1, CheckpointLayout.MetadataFile), 3L << 30);

        var e = await Refused<CheckpointFormatException>(() => store.ReadMetadata(1));
        var scan = await Bounded(() => store.ScanSteps(_ => true));

        var message = "'step-00000001/metadata.json': is 3221225472 bytes, over the 1073741824 bytes allowed for a metadata document: refused before reading it";
        Assert.Equal(message, e.Message);
        // The planner's recovery scan lists it as unreadable (and leaves it alone) instead of crashing.
        Assert.Equal($"'step-00000001': {message}", Assert.Single(scan.Unreadable));
    }

    [Fact]
    public async Task A_metadata_document_over_the_configured_bound_should_be_refused()
    {
        var store = Saved(maxMetadataBytes: 100);
        var length = new FileInfo(InStep(1, CheckpointLayout.MetadataFile)).Length;

        var e = await Refused<CheckpointFormatException>(() => store.ReadMetadata(1));

        Assert.Equal($"'step-00000001/metadata.json': is {length} bytes, over the 100 bytes allowed for a metadata document: refused before reading it", e.Message);
        Assert.Equal(Array.MaxLength, new CheckpointStore(store.Blobs, long.MaxValue).MaxMetadataBytes);
    }

    [Fact]
    public async Task A_FIFO_or_an_oversized_Hugging_Face_index_should_be_refused_at_import_and_export()
    {
        var store = Saved();
        var import = Path.Combine(_dir.Path, "hf");
        Directory.CreateDirectory(import);
        var index = Path.Combine(import, HuggingFaceExporter.IndexFile);
        MakeFifo(index);

        var fifo = await Refused<NotARegularFileException>(() => HuggingFaceCheckpoint.Open(import));
        var reference = await Refused<NotARegularFileException>(() =>
            HuggingFaceExporter.Export(store, 1, Path.Combine(_dir.Path, "out"), new ExportOptions(ReferenceIndex: index)));
        MakeSparse(index, 3L << 30);
        var large = await Refused<CheckpointFormatException>(() => HuggingFaceCheckpoint.Open(import));

        Assert.Equal($"'{index}' is a FIFO, not a regular file", fifo.Message);
        Assert.Equal(fifo.Message, reference.Message);
        Assert.Equal($"'{index}': is 3221225472 bytes, over the {HuggingFaceExporter.MaxIndexBytes} bytes allowed for an index: refused before reading it", large.Message);
    }

    [Theory]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData("sub/x.safetensors")]
    [InlineData("")]
    public void A_Hugging_Face_index_naming_anything_but_a_file_of_its_directory_should_be_refused_naming_the_index(string target)
    {
        var import = Path.Combine(_dir.Path, "hf");
        Directory.CreateDirectory(import);
        var index = Path.Combine(import, HuggingFaceExporter.IndexFile);
        File.WriteAllText(index, "{\"weight_map\": {\"w\": \"" + target + "\"}}");

        var e = Assert.Throws<CheckpointFormatException>(() => HuggingFaceCheckpoint.Open(import));

        Assert.Equal($"'{index}': weight_map puts 'w' in '{target}', which is not a file name in the directory", e.Message);
    }

    [Fact]
    public void A_Hugging_Face_index_naming_a_key_twice_should_be_refused_naming_the_key()
    {
        var import = Path.Combine(_dir.Path, "hf");
        Directory.CreateDirectory(import);
        var index = Path.Combine(import, HuggingFaceExporter.IndexFile);
        File.WriteAllText(index, "{\"weight_map\": {\"w\": \"a.safetensors\", \"w\": \"b.safetensors\"}}");

        var e = Assert.Throws<CheckpointFormatException>(() => HuggingFaceCheckpoint.Open(import));

        Assert.Equal($"'{index}': weight_map has 'w' twice", e.Message);
    }

    /// <summary>Step 1's metadata changed by <paramref name="edit"/>, parsed again; returns the refusal and the metadata's first data file.</summary>
    private CheckpointFormatException Tampered(Action<JsonNode> edit)
    {
        Saved(json: true);
        var json = JsonNode.Parse(File.ReadAllText(InStep(1, CheckpointLayout.MetadataFile)))!;
        edit(json);
        return Assert.Throws<CheckpointFormatException>(() => MetadataJson.Deserialize(Encoding.UTF8.GetBytes(json.ToJsonString()), "metadata.json"));
    }

    private static JsonNode FirstChunk(JsonNode md) => md["tensors"]!["w"]!["chunks"]![0]!;

    [Fact]
    public void A_chunk_whose_offset_and_length_overflow_should_be_refused_naming_the_field()
    {
        var e = Tampered(md => FirstChunk(md)["offsets"] = new JsonArray(long.MaxValue, 0));

        Assert.Equal("'metadata.json': malformed metadata: a chunk of 'w': \"offsets\"/\"lengths\": offset + length overflows 64 bits in dimension 0 of "
                     + "[9223372036854775807, 0] / [4, 4]", e.Message);
    }

    [Fact]
    public void A_shape_whose_bytes_overflow_should_be_refused_naming_the_field()
    {
        var e = Tampered(md => md["tensors"]!["w"]!["shape"] = new JsonArray(1L << 62, 4));

        Assert.Equal("'metadata.json': inconsistent metadata: 'w': \"shape\" [4611686018427387904, 4] holds more bytes than 64 bits count", e.Message);
    }

    [Fact]
    public void A_negative_byte_length_should_be_refused_naming_the_field()
    {
        string file = "";
        var e = Tampered(md =>
        {
            file = FirstChunk(md)["file"]!.GetValue<string>();
            FirstChunk(md)["length"] = -16;
        });

        Assert.Equal($"'metadata.json': inconsistent metadata: 'w': \"length\" -16 in file '{file}' is negative", e.Message);
    }

    [Fact]
    public void A_byte_range_whose_end_overflows_should_be_refused_naming_the_field()
    {
        string file = "";
        long length = 0;
        var e = Tampered(md =>
        {
            file = FirstChunk(md)["file"]!.GetValue<string>();
            length = md["files"]!.AsArray().First(f => f!["name"]!.GetValue<string>() == file)!["length"]!.GetValue<long>();
            FirstChunk(md)["offset"] = long.MaxValue - 8;
        });

        Assert.Equal($"'metadata.json': inconsistent metadata: 'w': \"offset\" 9223372036854775799 + \"length\" 64 lie outside file '{file}' of {length} bytes", e.Message);
    }

    /// <summary>Writes a safetensors file of header <paramref name="json"/> and <paramref name="data"/> bytes of data, and reads its header.</summary>
    private async Task<CheckpointFormatException> Header(string json, int data)
    {
        var header = Encoding.UTF8.GetBytes(json);
        var bytes = new byte[8 + header.Length + data];
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), (ulong)header.Length);
        header.CopyTo(bytes, 8);
        File.WriteAllBytes(Path.Combine(_dir.Path, "x.safetensors"), bytes);
        var store = new LocalBlobStore(_dir.Path);
        return await Refused<CheckpointFormatException>(() =>
        {
            using var reader = store.OpenRead("x.safetensors");
            SafetensorsHeader.Read(reader, "x.safetensors");
        });
    }

    [Fact]
    public async Task Safetensors_headers_with_negative_overflowing_or_repeated_sizes_should_be_refused_naming_the_field()
    {
        // Each of these passed before: a negative shape and a negative end agree (-1 × 4 = -4) and
        // the file was 4 bytes short of the header; 2^62 × 4 elements × 4 bytes wrapped to 0.
        var negative = await Header("""{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,-4]}}""", 0);
        var reversed = await Header("""{"a":{"dtype":"U8","shape":[4],"data_offsets":[4,0]}}""", 4);
        var overflow = await Header("""{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}}""", 0);
        var twice = await Header("""{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}""", 1);
        var array = await Header("""[1,2]""", 0);

        Assert.Equal("'x.safetensors': tensor 'a': shape [-1] has a negative size", negative.Message);
        Assert.Equal("'x.safetensors': tensor 'a': data_offsets [4, 0] is not a range of the data section", reversed.Message);
        Assert.Equal("'x.safetensors': tensor 'a': shape [4611686018427387904, 4] holds more bytes than 64 bits count", overflow.Message);
        Assert.Equal("'x.safetensors': header has 'a' twice", twice.Message);
        Assert.Equal("'x.safetensors': header is not a JSON object", array.Message);
    }
}
