using System.Collections.Concurrent;
using TorchSharp;

namespace ActorCkpt.Actors.Tests;

/// <summary>
/// A load through a <see cref="RangeFetcher"/> (as through readers), with a fetcher that serves the
/// ranges from the directory and reports frames as the bulk channel would: what the loader asks
/// for, and what it takes as proof of each block.
/// </summary>
public class FetchedLoadSpec : NodeSpec
{
    private static readonly IReadOnlyList<(string Key, DType DType, Layout Layout, long Rows, long Cols)> Model =
        new[] { ("w.rows", DType.Float32, Layout.Rows, 512L, 300L), ("w.cols", DType.Float32, Layout.Columns, 64L, 96L), ("w.replicated", DType.Int64, Layout.Replicated, 40L, 30L) };

    /// <summary>Reads each range from the store, cut into frames of the size asked for, each reported with <paramref name="checksum"/> of its bytes.</summary>
    private static RangeFetcher Fetcher(IBlobStore store, ConcurrentBag<int> asked, Func<ReadOnlySpan<byte>, ulong> checksum) =>
        (_, step, file, offset, into, frameSize, frames) =>
        {
            asked.Add(frameSize);
            using (var reader = store.OpenRead(CheckpointLayout.InStep(step, file))) reader.ReadExactly(into.Span, offset);
            for (var at = 0; at < into.Length; at += frameSize)
            {
                var n = Math.Min(frameSize, into.Length - at);
                frames.Add(new CheckedFrame(at, n, checksum(into.Span.Slice(at, n))));
            }
            return Task.CompletedTask;
        };

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task A_fetched_load_should_ask_for_frames_of_each_ranges_block_size_and_take_a_frame_that_is_a_block_as_its_proof(int loadRanks)
    {
        var node = StartNode();
        var states = TestStates.Build(Model, 2, seed: 5);
        await SaveAllAsync(node, 1, states);
        var metadata = node.Store.ReadMetadata(1);
        var blockSizes = metadata.Tensors.Values.SelectMany(t => t.Chunks).Select(c => c.Bytes.BlockSize).Concat(metadata.Objects.Select(o => o.Bytes.BlockSize)).ToHashSet();
        var settings = ActorCkptSettings.Create(Sys);

        // Honest frames: bit-exact, and every range asked for in frames of its own block size.
        var asked = new ConcurrentBag<int>();
        var targets = TestStates.Empty(Model, loadRanks);
        foreach (var t in targets)
            await ShardLoader.LoadAsync(node.Store, t, 1, "", StrictHandling.RaiseAll, settings.LoadParallelism, Fetcher(node.Store.Blobs, asked, b => BlockChecksums.Of(b)));
        Assert.Empty(TestStates.Differences(Model, targets, seed: 5));
        Assert.NotEmpty(asked);
        Assert.All(asked, size => Assert.Contains(size, blockSizes));

        // Frames whose checksums lie about bytes that are right: the load refuses them, so it took them as the blocks' proof.
        var lying = TestStates.Empty(Model, loadRanks);
        var e = await Assert.ThrowsAsync<ChecksumMismatchException>(() =>
            ShardLoader.LoadAsync(node.Store, lying[0], 1, "", StrictHandling.RaiseAll, settings.LoadParallelism, Fetcher(node.Store.Blobs, new ConcurrentBag<int>(), b => BlockChecksums.Of(b) ^ 1)));
        Assert.StartsWith("checksum mismatch in '", e.Message);
        TestStates.Dispose(states.Concat(targets).Concat(lying));
    }

    [Fact]
    public async Task A_fetched_load_should_fetch_its_non_tensor_entries_alongside_its_tensors_not_after_them()
    {
        var node = StartNode();
        var saved = new RankState(0, 1).AddReplicated("w", torch.arange(4096, torch.float32))
            .AddObject("a", [1, 2, 3], ObjectScope.Rank).AddObject("b", [4, 5, 6, 7], ObjectScope.Rank).AddObject("c", [8], ObjectScope.Global);
        await SaveAllAsync(node, 1, [saved]);

        // Every fetch waits until the tensor's and all three entries' fetches are under way together:
        // entries fetched one by one, or only once the tensor is in, never get there.
        var arrived = 0;
        var together = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        RangeFetcher barrier = async (_, step, file, offset, into, _, _) =>
        {
            if (Interlocked.Increment(ref arrived) == 4) together.SetResult();
            await together.Task;
            using var reader = node.Store.Blobs.OpenRead(CheckpointLayout.InStep(step, file));
            reader.ReadExactly(into.Span, offset);
        };
        var target = new RankState(0, 1).AddReplicated("w", torch.zeros(4096, torch.float32));

        var (result, _) = await ShardLoader.LoadAsync(node.Store, target, 1, "", StrictHandling.RaiseAll, parallelism: 1, barrier).WaitAsync(Patience);

        Assert.Equal(4, arrived);
        Assert.True(target.Tensors[0].Tensor.allclose(torch.arange(4096, torch.float32), rtol: 0, atol: 0));
        Assert.Equal(new byte[] { 1, 2, 3 }, result.Objects["a"]);
        Assert.Equal(new byte[] { 4, 5, 6, 7 }, result.Objects["b"]);
        Assert.Equal(new byte[] { 8 }, result.Objects["c"]);
    }
}
