using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace ActorCkpt.Io.Tests;

/// <summary>Broken and hostile checkpoints on disk: each load or verify fails naming what is wrong, and reads nothing outside the directory.</summary>
public class HostileInputSpec : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private CheckpointStore Saved()
    {
        var store = new CheckpointStore(new LocalBlobStore(_dir.Path));
        SavedCheckpoint.Save(store, 1, world: 2);
        return store;
    }

    private string StepPath(string file) => Path.Combine(_dir.Path, CheckpointLayout.StepDirectory(1), file);

    [Fact]
    public void A_negative_step_should_have_no_directory_and_say_so_in_one_line()
    {
        // Before, .NET added "Actual value was -1." on a second line.
        Assert.Equal("step -1: steps are non-negative (Parameter 'step')", Assert.Throws<ArgumentOutOfRangeException>(() => CheckpointLayout.StepDirectory(-1)).Message);
    }

    [Fact]
    public void A_flipped_bit_in_any_data_file_should_fail_load_and_verify_naming_the_file_and_tensor()
    {
        var store = Saved();
        var md = store.ReadMetadata(1);
        var random = new Random(7);
        foreach (var file in md.Files)
        {
            var chunk = md.Tensors.Values.SelectMany(t => t.Chunks.Select(c => (t.Key, c.Bytes))).First(c => c.Bytes.File == file.Name);
            var at = chunk.Bytes.Offset + random.NextInt64(chunk.Bytes.Length);
            var bit = 1 << random.Next(8);
            Flip(StepPath(file.Name), at, bit);

            var load = Assert.ThrowsAny<ActorCkptException>(() => SavedCheckpoint.LoadAll(store));
            var verify = CheckpointVerifier.Verify(store, 1);

            Assert.Contains(file.Name, load.Message);
            Assert.Contains($"'{chunk.Key}'", load.Message);
            // Items are smaller than a checksum block: block 0 of that one item, nothing else.
            Assert.Equal(new VerificationFailure(file.Name, chunk.Key, "checksum mismatch in block(s) 0"), Assert.Single(verify));
            Flip(StepPath(file.Name), at, bit);
            Assert.Empty(CheckpointVerifier.Verify(store, 1));
        }
    }

    [Fact]
    public void A_truncated_data_file_should_fail_load_and_verify_naming_it()
    {
        var store = Saved();
        var md = store.ReadMetadata(1);
        var file = md.Files[0];
        var cut = file.Length - 10;
        using (var f = File.Open(StepPath(file.Name), FileMode.Open)) f.SetLength(cut);

        var load = Assert.ThrowsAny<Exception>(() => SavedCheckpoint.LoadAll(store));

        Assert.Contains(file.Name, load.Message);
        // The file's length and header, and each item of it the cut reaches, and nothing else.
        var cutItems = md.Tensors.Values.SelectMany(t => t.Chunks.Select(c => (t.Key, c.Bytes))).Concat(md.Objects.Select(o => (o.Key, o.Bytes)))
            .Where(i => i.Bytes.File == file.Name && i.Bytes.Offset + i.Bytes.Length > cut)
            .Select(i => new VerificationFailure(file.Name, i.Key, $"bytes {i.Bytes.Offset}..{i.Bytes.Offset + i.Bytes.Length} lie past the end of the file"));
        var expected = new[]
        {
            new VerificationFailure(file.Name, "(file)", $"{cut} bytes, metadata says {file.Length}"),
            new VerificationFailure(file.Name, "(file)", $"data section ends at {file.Length} but the file has {cut} bytes"),
        }.Concat(cutItems);
        Assert.Equal(expected.OrderBy(f => f.ToString()), CheckpointVerifier.Verify(store, 1).OrderBy(f => f.ToString()));
    }

    [Fact]
    public void A_missing_data_file_should_fail_load_and_verify_naming_it()
    {
        var store = Saved();
        var file = store.ReadMetadata(1).Files[0];
        File.Delete(StepPath(file.Name));

        var load = Assert.ThrowsAny<Exception>(() => SavedCheckpoint.LoadAll(store));

        Assert.Contains(file.Name, load.Message);
        // One line for the file; its items are not read.
        Assert.Equal(new VerificationFailure(file.Name, "(file)", "missing"), Assert.Single(CheckpointVerifier.Verify(store, 1)));
    }

    [Theory]
    [InlineData("truncated")]
    [InlineData("not json")]
    [InlineData("empty")]
    public void Malformed_or_truncated_metadata_should_be_refused_naming_the_file(string damage)
    {
        var store = Saved();
        var path = StepPath(CheckpointLayout.MetadataFile);
        var text = File.ReadAllText(path);
        File.WriteAllText(path, damage switch
        {
            "truncated" => text[..(text.Length / 2)],
            "not json" => "<metadata>" + text,
            _ => "",
        });

        var e = Assert.Throws<CheckpointFormatException>(() => store.ReadMetadata(1));

        Assert.Contains(CheckpointLayout.MetadataFile, e.Message);
    }

    [Fact]
    public void A_header_length_that_would_allocate_gigabytes_should_be_refused_without_allocating()
    {
        var store = Saved();
        var file = store.ReadMetadata(1).Files[0];
        using (var f = File.Open(StepPath(file.Name), FileMode.Open))
        {
            var length = new byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, 40UL << 30);
            f.Write(length);
        }
        using var reader = store.Blobs.OpenRead(CheckpointLayout.InStep(1, file.Name));
        var before = GC.GetAllocatedBytesForCurrentThread();

        var e = Assert.Throws<CheckpointFormatException>(() => SafetensorsHeader.Read(reader, file.Name));

        Assert.Contains("header length 42949672960", e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20, "the bogus header length was allocated");
        // Only the header is bad: every item's bytes still check out.
        var verified = Assert.Single(CheckpointVerifier.Verify(store, 1));
        Assert.Equal((file.Name, "(file)"), (verified.File, verified.Key));
        Assert.Contains("header length 42949672960", verified.Problem);
    }

    [Fact]
    public void A_data_file_replaced_by_a_link_to_a_file_outside_should_not_be_read()
    {
        var store = Saved();
        var file = store.ReadMetadata(1).Files[0];
        var outside = Path.Combine(Path.GetDirectoryName(_dir.Path)!, "outside-" + Guid.NewGuid().ToString("N"));
        File.Copy(StepPath(file.Name), outside);
        try
        {
            File.Delete(StepPath(file.Name));
            File.CreateSymbolicLink(StepPath(file.Name), outside);

            var load = Assert.Throws<UnauthorizedAccessException>(() => SavedCheckpoint.LoadAll(store));

            Assert.Contains("symbolic link", load.Message);
            Assert.Contains(file.Name, load.Message);
        }
        finally
        {
            File.Delete(outside);
        }
    }

    [Fact]
    public void A_step_directory_that_is_a_link_should_be_refused()
    {
        var store = Saved();
        var real = Path.Combine(_dir.Path, "elsewhere");
        Directory.Move(Path.Combine(_dir.Path, CheckpointLayout.StepDirectory(1)), real);
        Directory.CreateSymbolicLink(Path.Combine(_dir.Path, CheckpointLayout.StepDirectory(1)), real);

        var e = Assert.Throws<UnauthorizedAccessException>(() => store.ReadMetadata(1));

        Assert.Contains("symbolic link", e.Message);
    }

    private static void Flip(string path, long offset, int bit)
    {
        using var f = File.Open(path, FileMode.Open, FileAccess.ReadWrite);
        f.Position = offset;
        var b = f.ReadByte();
        f.Position = offset;
        f.WriteByte((byte)(b ^ bit));
    }
}
