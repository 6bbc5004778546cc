using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using System.Text.Json.Nodes;

namespace ActorCkpt.Io.Tests;

/// <summary>
/// Issue 15, item 2: a committed step is checked as a load checks it, and more: its metadata
/// against the catalog's checksum, its "step" against its directory, and every chunk and entry
/// against its data file's own safetensors header (recorded header checksum, entry name, dtype,
/// shape, byte place, the chunk's place in the global tensor). Tampering that keeps the JSON valid
/// is named by file and field.
/// </summary>
public class StepConsistencySpec : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private CheckpointStore Store() => new(new LocalBlobStore(_dir.Path));

    /// <summary>Step <paramref name="step"/> of "w" [8, 4] row-sharded over 2 ranks, "b" and a per-rank entry; a fresh store to read it.</summary>
    /// <summary>A store whose step <paramref name="step"/> is saved, its metadata in the JSON form with <paramref name="json"/> (for the specs that edit it as text).</summary>
    private CheckpointStore Saved(long step = 1, bool json = false)
    {
        SavedCheckpoint.Save(Store(), step, world: 2, json: json);
        return Store();
    }

    private string InStep(long step, string file) => Path.Combine(_dir.Path, CheckpointLayout.StepDirectory(step), file);

    /// <summary>The data file holding the chunk of "w" that starts at row <paramref name="row"/>.</summary>
    private static string FileOfRow(CheckpointMetadata md, long row) => md.Tensor("w").Chunks.Single(c => c.Box.Offsets[0] == row).Bytes.File;

    /// <summary>Rewrites step 1's metadata through <paramref name="edit"/>; it stays valid JSON.</summary>
    private void EditMetadata(Action<JsonNode> edit)
    {
        var path = InStep(1, CheckpointLayout.MetadataFile);
        var doc = JsonNode.Parse(File.ReadAllBytes(path))!;
        edit(doc);
        File.WriteAllText(path, doc.ToJsonString());
    }

    /// <summary>The header bytes of <paramref name="file"/> in step 1: the 8-byte length and the JSON.</summary>
    private byte[] HeaderBytes(string file)
    {
        var bytes = File.ReadAllBytes(InStep(1, file));
        var n = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        return bytes[..(8 + n)];
    }

    /// <summary>Replaces <paramref name="find"/> by <paramref name="replace"/> (as long) in the header of <paramref name="file"/>, so the file stays a valid safetensors file.</summary>
    private void EditHeader(string file, string find, string replace)
    {
        Assert.Equal(find.Length, replace.Length);
        var path = InStep(1, file);
        var bytes = File.ReadAllBytes(path);
        var n = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var json = Encoding.UTF8.GetString(bytes, 8, n);
        Assert.Contains(find, json);
        Encoding.UTF8.GetBytes(json.Replace(find, replace)).CopyTo(bytes, 8);
        File.WriteAllBytes(path, bytes);
    }

    private static string[] Lines(IEnumerable<VerificationFailure> problems) => problems.Select(p => p.ToString()).ToArray();

    [Fact]
    public void A_saved_step_should_pass_and_record_each_data_files_header_checksum()
    {
        var store = Saved(json: true);

        var problems = StepConsistency.Check(store, 1, expectedChecksum: null);

        Assert.Empty(problems);
        var md = store.ReadMetadata(1);
        Assert.Equal(2, md.Files.Count);
        foreach (var f in md.Files)
            Assert.Equal(XxHash3.HashToUInt64(HeaderBytes(f.Name)).ToString("x16"), f.HeaderChecksum);
        Assert.Contains("\"header_checksum\":\"" + md.Files[0].HeaderChecksum + "\"", File.ReadAllText(InStep(1, CheckpointLayout.MetadataFile)));
    }

    [Fact]
    public void Metadata_copied_into_another_steps_directory_should_be_refused_naming_the_file_and_both_steps()
    {
        Saved(1);
        var store = Saved(2);
        File.Copy(InStep(1, CheckpointLayout.MetadataFile), InStep(2, CheckpointLayout.MetadataFile), overwrite: true);

        var read = Assert.Throws<CheckpointFormatException>(() => store.ReadMetadata(2));
        var checkedStep = Assert.Throws<CheckpointFormatException>(() => StepConsistency.Check(store, 2, null));
        var scan = store.ScanSteps(_ => true);

        const string expected = "'step-00000002/metadata.json': \"step\" is 1 but the document is in the directory of step 2: it is another step's metadata, not this step's";
        Assert.Equal(expected, read.Message);
        Assert.Equal(expected, checkedStep.Message);
        // The catalog's recovery never adopts it as step 2: it is listed as unreadable, and left alone.
        Assert.Equal(new[] { "'step-00000002': " + expected }, scan.Unreadable);
        Assert.Equal(1, store.ReadMetadata(1).Step);
    }

    [Fact]
    public void Metadata_whose_chunks_swapped_places_should_be_named_by_the_headers_without_a_catalog()
    {
        var store = Saved(json: true);
        var md = store.ReadMetadata(1);
        var (top, bottom) = (FileOfRow(md, 0), FileOfRow(md, 4));
        // Valid JSON and self-consistent metadata: only where the two halves of "w" go changed.
        EditMetadata(doc =>
        {
            var chunks = doc["tensors"]!["w"]!["chunks"]!.AsArray();
            (chunks[0]!["offsets"], chunks[1]!["offsets"]) = (chunks[1]!["offsets"]!.DeepClone(), chunks[0]!["offsets"]!.DeepClone());
        });
        var fresh = Store();

        var problems = StepConsistency.Check(fresh, 1, expectedChecksum: null);
        var refused = Assert.Throws<CheckpointFormatException>(() => StepConsistency.Require(fresh, 1, null));

        Assert.Equal(new[]
        {
            $"BAD file={top} key=w: chunk offsets [4, 0] lengths [4, 4] of 'w' is stored as 'w@0,0' in the metadata (\"name\"), a name that belongs to another place; its own is 'w@4,0'",
            $"BAD file={bottom} key=w: chunk offsets [0, 0] lengths [4, 4] of 'w' is stored as 'w@4,0' in the metadata (\"name\"), a name that belongs to another place; its own is 'w@0,0'",
        }, Lines(problems));
        Assert.Equal($"'step-00000001/{top}': chunk offsets [4, 0] lengths [4, 4] of 'w' is stored as 'w@0,0' in the metadata (\"name\"), " +
                     "a name that belongs to another place; its own is 'w@4,0' (and 1 more problem: actorckpt verify lists them)", refused.Message);
    }

    [Fact]
    public void Metadata_that_differs_from_the_catalogs_checksum_should_be_refused_for_it()
    {
        var store = Saved(json: true);
        var recorded = CheckpointStore.Checksum(File.ReadAllBytes(InStep(1, CheckpointLayout.MetadataFile)));
        EditMetadata(doc => doc["note"] = "x"); // a field readers skip: the same checkpoint, other bytes, which only the checksum tells
        var now = CheckpointStore.Checksum(File.ReadAllBytes(InStep(1, CheckpointLayout.MetadataFile)));
        var fresh = Store();

        var problems = StepConsistency.Check(fresh, 1, recorded);
        var refused = Assert.Throws<CheckpointFormatException>(() => StepConsistency.Require(fresh, 1, recorded));

        Assert.NotEqual(recorded, now);
        var why = $"its checksum {now} differs from the {recorded} the catalog recorded at commit: the document was changed or corrupted";
        Assert.Equal(new[] { "BAD file=metadata.json key=(file): " + why }, Lines(problems));
        Assert.Equal("'step-00000001/metadata.json': " + why, refused.Message);
        Assert.Empty(StepConsistency.Check(fresh, 1, now));
    }

    [Fact]
    public void A_header_rewritten_to_the_same_length_should_be_caught_by_its_recorded_checksum()
    {
        var store = Saved();
        var md = store.ReadMetadata(1);
        var file = FileOfRow(md, 0);
        var recorded = md.Files.Single(f => f.Name == file).HeaderChecksum;
        EditHeader(file, "\"format\":\"pt\"", "\"format\":\"np\"");
        var now = XxHash3.HashToUInt64(HeaderBytes(file)).ToString("x16");

        var problems = StepConsistency.Check(Store(), 1, null);
        var verified = CheckpointVerifier.Verify(Store(), 1);

        var line = $"BAD file={file} key=(header): header checksum {now} differs from the {recorded} recorded in the metadata (\"header_checksum\"): the header was rewritten";
        Assert.Equal(new[] { line }, Lines(problems));
        Assert.Equal(new[] { line }, Lines(verified));
    }

    [Fact]
    public void A_data_file_whose_header_does_not_parse_should_be_named_once_in_its_line()
    {
        var store = Saved();
        var file = FileOfRow(store.ReadMetadata(1), 0);
        var path = InStep(1, file);
        var bytes = File.ReadAllBytes(path);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)bytes.Length);
        File.WriteAllBytes(path, bytes);

        var problems = StepConsistency.Check(Store(), 1, null);
        var verified = CheckpointVerifier.Verify(Store(), 1);

        // Before: "BAD file=F key=(file): 'F': header length …", the file named twice.
        var line = $"BAD file={file} key=(file): header length {bytes.Length} does not fit in a file of {bytes.Length} bytes";
        Assert.Equal(new[] { line }, Lines(problems));
        Assert.Contains(line, Lines(verified));
        // What a load says.
        var e = Assert.Throws<CheckpointFormatException>(() => StepConsistency.Require(Store(), 1, null, out _));
        Assert.Equal($"'{CheckpointLayout.InStep(1, file)}': header length {bytes.Length} does not fit in a file of {bytes.Length} bytes", e.Message);
    }

    [Fact]
    public void A_header_entry_renamed_or_retyped_should_be_named_with_the_field()
    {
        var store = Saved();
        var md = store.ReadMetadata(1);
        var top = FileOfRow(md, 0);
        var recorded = md.Files.Single(f => f.Name == top).HeaderChecksum;
        // The rows 0..4 of "w" now claim to be rows 4..8, and the other file's int32s.
        EditHeader(top, "\"w@0,0\":{\"dtype\":\"F32\"", "\"w@4,0\":{\"dtype\":\"I32\"");
        var now = XxHash3.HashToUInt64(HeaderBytes(top)).ToString("x16");

        var verified = CheckpointVerifier.Verify(Store(), 1);

        Assert.Equal(new[]
        {
            $"BAD file={top} key=(header): header checksum {now} differs from the {recorded} recorded in the metadata (\"header_checksum\"): the header was rewritten",
            $"BAD file={top} key=w: the header has no entry 'w@0,0' for chunk offsets [0, 0] lengths [4, 4] of 'w'",
            $"BAD file={top} key=(header): the header has entry 'w@4,0', which nothing in the metadata names",
        }, Lines(verified));
    }

    [Fact]
    public void Metadata_written_before_header_checksums_should_still_load_and_still_be_cross_checked()
    {
        var store = Saved(json: true);
        var top = FileOfRow(store.ReadMetadata(1), 0);
        EditMetadata(doc =>
        {
            foreach (var f in doc["files"]!.AsArray()) f!.AsObject().Remove("header_checksum");
        });
        var old = Store();

        Assert.All(old.ReadMetadata(1).Files, f => Assert.Equal("", f.HeaderChecksum));
        SavedCheckpoint.LoadAll(old);
        Assert.Empty(StepConsistency.Check(old, 1, null));

        EditHeader(top, "\"format\":\"pt\"", "\"format\":\"np\"");
        Assert.Empty(StepConsistency.Check(Store(), 1, null)); // nothing recorded to compare the header with
        EditHeader(top, "\"w@0,0\":{\"dtype\":\"F32\",\"shape\":[4,4]", "\"w@0,0\":{\"dtype\":\"I32\",\"shape\":[4,4]");
        Assert.Equal(new[] { $"BAD file={top} key=w: entry 'w@0,0' has dtype I32 in the header, F32 in the metadata (\"dtype\")" },
            Lines(StepConsistency.Check(Store(), 1, null)));
    }

    [Fact]
    public void A_header_entry_whose_shape_or_place_disagrees_should_be_named()
    {
        var (_, header) = SafetensorsHeader.Build(new (string, DType, IReadOnlyList<long>)[]
        {
            ("w@2,0", DType.Float32, new long[] { 2, 4 }),
            ("__object__/rank1/rng", DType.UInt8, new long[] { 4 }),
        }, new Dictionary<string, string>());
        var file = new DataFileMetadata("f.safetensors", header.DataStart + 36, 1, 0, HeaderChecksum: header.Checksum);
        var md = new CheckpointMetadata(1, 1, 2, DateTimeOffset.UnixEpoch,
            new Dictionary<string, TensorMetadata>
            {
                ["w"] = new("w", DType.Float32, new long[] { 4, 4 }, new[]
                {
                    // The metadata says 1 row at row 2, at the byte after where the header puts it.
                    new StoredChunk(new TensorBox(new long[] { 2, 0 }, new long[] { 1, 4 }), "w@2,0", 1,
                        new StoredBytes("f.safetensors", header.DataStart + 4, 16, 4096, new ulong[] { 0 })),
                }),
            },
            new[] { new ObjectMetadata("rng", ObjectScope.Rank, 1, "__object__/rank1/rng", new StoredBytes("f.safetensors", header.DataStart + 32, 4, 4096, new ulong[] { 0 })) },
            new[] { file });

        var problems = StepConsistency.CheckHeader(file, header, StepConsistency.ItemsByFile(md)["f.safetensors"]);

        Assert.Equal(new[]
        {
            "BAD file=f.safetensors key=w: entry 'w@2,0' has shape [2, 4] in the header, [1, 4] in the metadata (\"lengths\" of chunk offsets [2, 0] lengths [1, 4] of 'w')",
            $"BAD file=f.safetensors key=w: entry 'w@2,0' lies at byte {header.DataStart} (+32) in the header, at byte {header.DataStart + 4} (+16) in the metadata (\"offset\", \"length\")",
        }, Lines(problems));
    }

    [Fact]
    public void A_header_checksum_that_is_not_a_checksum_should_be_refused_when_the_metadata_is_read()
    {
        Saved(json: true);
        EditMetadata(doc => doc["files"]![0]!["header_checksum"] = "not-hex");

        var e = Assert.Throws<CheckpointFormatException>(() => Store().ReadMetadata(1));

        var name = JsonNode.Parse(File.ReadAllBytes(InStep(1, CheckpointLayout.MetadataFile)))!["files"]![0]!["name"]!.GetValue<string>();
        Assert.Equal($"'step-00000001/metadata.json': inconsistent metadata: file '{name}': \"header_checksum\" 'not-hex' is not 16 lowercase hex digits", e.Message);
    }
}
