using System.Runtime.InteropServices;
using TorchSharp;

namespace ActorCkpt.Host.Tests;

/// <summary>
/// Tensors over 2 GiB, past what one .NET span (and TorchSharp's <c>Tensor.bytes</c>) holds: saved
/// in place, loaded whole on another rank count, read by <c>LoadKeys</c>, exported and imported
/// back, bit-exact.
/// Every tensor holds its own row-major element indices, so any byte out of place shows.
/// </summary>
public sealed class LargeTensorSpec : IDisposable
{
    // int32 [262,208, 2,048]: 2,148,007,936 bytes, 524,288 past 2 GiB.
    private const long Rows = 262_208;
    private const long Cols = 2048;

    // int32 [537,919,488]: 2,151,677,952 bytes, so its third 1 GiB item starts past 2 GiB.
    private const long Length = (1L << 29) + (1L << 20);

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    /// <summary>Asserts that element i of <paramref name="tensor"/> (row-major) is i, comparing 16M elements at a time.</summary>
    private static void AssertIndices(torch.Tensor tensor, string what)
    {
        using var flat = tensor.view(-1);
        const long step = 1L << 24;
        for (long start = 0; start < flat.shape[0]; start += step)
        {
            var n = Math.Min(step, flat.shape[0] - start);
            using var part = flat.narrow(0, start, n);
            using var expected = torch.arange(start, start + n, torch.int32);
            Assert.True(part.bytes.SequenceEqual(expected.bytes), $"{what}: elements {start}..{start + n} differ");
        }
    }

    /// <summary>Asserts that the <paramref name="elements"/> int32 values at <paramref name="offset"/> of <paramref name="file"/> are their indices.</summary>
    private static void AssertIndicesInFile(string file, long offset, long elements, string what)
    {
        using var handle = File.OpenHandle(file);
        var buffer = new int[1 << 24];
        for (long start = 0; start < elements; start += buffer.Length)
        {
            var n = (int)Math.Min(buffer.Length, elements - start);
            var bytes = MemoryMarshal.AsBytes(buffer.AsSpan(0, n));
            Assert.Equal(bytes.Length, RandomAccess.Read(handle, bytes, offset + start * 4));
            for (var i = 0; i < n; i++)
                if (buffer[i] != start + i)
                    Assert.Fail($"{what}: element {start + i} is {buffer[i]}");
        }
    }

    [Fact]
    public async Task Tensors_over_2_GiB_should_save_in_place_and_load_reshard_and_export_bit_exact()
    {
        var dir = Path.Combine(_temp.Path, "ckpt");
        // "columns" is split by columns over two ranks, so loaded whole on one rank every read goes
        // through a buffer into a window of a destination over 2 GiB; "flat" is held whole by rank 0
        // and saved in place, its last item starting past 2 GiB.
        await using (var ckpt = Checkpointer.Start(dir))
        {
            torch.Tensor left, right;
            using (var columns = torch.arange(Rows * Cols, torch.int32).view(Rows, Cols))
            {
                left = columns.narrow(1, 0, Cols / 2).contiguous();
                right = columns.narrow(1, Cols / 2, Cols / 2).contiguous();
            }
            using var flat = torch.arange(Length, torch.int32);
            using (left)
            using (right)
            {
                var rank0 = new RankState(0, 2).AddSharded("columns", left, 1, 0, Cols).AddReplicated("flat", flat);
                var rank1 = new RankState(1, 2).AddSharded("columns", right, 1, Cols / 2, Cols);
                await Task.WhenAll(ckpt.SaveInPlaceAsync(1, rank0), ckpt.SaveInPlaceAsync(1, rank1)).WaitAsync(TimeSpan.FromMinutes(5));
            }
        }

        await using (var ckpt = Checkpointer.Start(dir))
        {
            using var columns = torch.zeros(Rows, Cols, torch.int32);
            using var flat = torch.zeros(Length, torch.int32);
            await ckpt.LoadAsync(new RankState(0, 1).AddReplicated("columns", columns).AddReplicated("flat", flat)).WaitAsync(TimeSpan.FromMinutes(5));
            AssertIndices(columns, "columns loaded on one rank");
            AssertIndices(flat, "flat loaded");
        }

        var keys = CheckpointReader.Open(dir).LoadKeys(["columns"]);
        using (var columns = keys["columns"])
            AssertIndices(columns, "columns from LoadKeys");

        var export = Path.Combine(_temp.Path, "hf");
        var result = HuggingFaceExporter.Export(new CheckpointStore(new LocalBlobStore(dir)), 1, export, new ExportOptions());
        var file = Path.Combine(export, Assert.Single(result.Files));
        using var reader = new LocalBlobStore(export).OpenRead(Path.GetFileName(file));
        var header = SafetensorsHeader.Read(reader, file);
        var entries = header.Entries.ToDictionary(e => e.Name);
        AssertIndicesInFile(file, header.DataStart + entries["columns"].Begin, Rows * Cols, "columns exported");
        AssertIndicesInFile(file, header.DataStart + entries["flat"].Begin, Length, "flat exported");

        // And back: each exported tensor is one chunk over 2 GiB of a file without checksums.
        using (var columns = torch.zeros(Rows, Cols, torch.int32))
        using (var flat = torch.zeros(Length, torch.int32))
        {
            HuggingFaceImport.LoadBaseModel(export, new RankState(0, 1).AddReplicated("columns", columns).AddReplicated("flat", flat));
            AssertIndices(columns, "columns imported");
            AssertIndices(flat, "flat imported");
        }
    }
}
