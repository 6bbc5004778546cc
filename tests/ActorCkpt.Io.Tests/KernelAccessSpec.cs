using System.Runtime.InteropServices;

namespace ActorCkpt.Io.Tests;

/// <summary>The process-wide choice (not run beside other specs) is put back to auto after each test.</summary>
[CollectionDefinition("kernel access", DisableParallelization = true)]
public sealed class KernelAccessCollection;

/// <summary>
/// Whether file writes go straight from tensor memory or through a pooled buffer: the setting, the
/// probe that decides under auto, and a checkpoint written either way that loads bit-exact and checked.
/// </summary>
[Collection("kernel access")]
public sealed class KernelAccessSpec : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose()
    {
        KernelAccess.Configure(CopyWrites.Auto).Wait();
        _dir.Dispose();
    }

    [Theory]
    [InlineData(0.15, 0.10, true)]
    [InlineData(0.05, 0.10, true)]
    [InlineData(0.16, 0.10, false)]
    [InlineData(1.20, 0.15, false)]
    public void A_way_should_go_straight_only_when_at_most_one_and_a_half_times_the_copy(double straight, double copied, bool expected)
    {
        Assert.Equal(expected, KernelAccess.Decide(straight, copied));
    }

    [Fact]
    public async Task On_should_copy_off_should_go_straight_and_auto_should_follow_the_probe()
    {
        await KernelAccess.Configure(CopyWrites.On);
        Assert.False(KernelAccess.Straight);
        await KernelAccess.Configure(CopyWrites.Off);
        Assert.True(KernelAccess.Straight);

        await KernelAccess.Configure(CopyWrites.Auto);

        if (!OperatingSystem.IsLinux())
        {
            Assert.False(KernelAccess.Straight);
            return;
        }
        var probe = KernelAccess.Probe!;
        Assert.All(new[] { probe.StraightWriteSeconds, probe.CopiedWriteSeconds }, s => Assert.InRange(s, 1e-7, 60));
        Assert.Equal(probe.Straight, KernelAccess.Straight);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_checkpoint_written_either_way_should_load_bit_exact_and_a_corrupted_block_be_named(bool copy)
    {
        await KernelAccess.Configure(copy ? CopyWrites.On : CopyWrites.Off);
        var store = new CheckpointStore(new LocalBlobStore(_dir.Path));
        // Small blocks: a rank's region is runs of whole blocks, with partial blocks at its ends.
        var values = SavedCheckpoint.Save(store, 1, world: 2, rows: 64, cols: 8, blockSize: 64);
        var md = store.ReadMetadata(1);
        float[] Load(long start, long rows)
        {
            var wanted = new[] { new WantedChunk(0, "w", DType.Float32, new long[] { 64, 8 }, new TensorBox(new[] { start, 0L }, new[] { rows, 8L })) };
            var dest = new float[rows * 8];
            new ChunkReader(store).Read(LoadPlanner.Plan(md, wanted, StrictHandling.ReturnAll), (_, o, n) => MemoryMarshal.AsBytes(dest.AsSpan()).Slice((int)o, n), 2);
            return dest;
        }

        Assert.Equal(values, Load(0, 64));
        Assert.Equal(values.Skip(3 * 8).Take(50 * 8), Load(3, 50));

        var chunk = md.Tensors["w"].Chunks.Single(c => c.Rank == 1);
        using (var f = File.Open(Path.Combine(_dir.Path, "step-00000001", chunk.Bytes.File), FileMode.Open, FileAccess.ReadWrite))
        {
            f.Position = chunk.Bytes.Offset + 5 * 64 + 7;
            var b = f.ReadByte();
            f.Position--;
            f.WriteByte((byte)(b ^ 0xFF));
        }
        var e = Assert.Throws<ChecksumMismatchException>(() => Load(0, 64));
        Assert.Equal(("w", chunk.Bytes.File, 5), (e.Key, e.File, e.Block));
    }
}
