using TorchSharp;

namespace ActorCkpt.Actors.Tests;

/// <summary>
/// With actorckpt.async.overlap-writes, an async save hands its files to writers while its state is
/// still being copied into staging buffers (writing overlaps staging): whatever the caller does to its tensors once Staged has
/// completed, the checkpoint holds the state as it was at the call, bit for bit.
/// </summary>
public class PipelinedSaveSpec() : NodeSpec("actorckpt.async.overlap-writes = on")
{
    private const int Tensors = 8;
    private const long Rows = 512, Cols = 1024;

    private CheckpointNode StartGatedNode(GatedStore.Gate gate) =>
        CheckpointNode.Start(Sys, new GatedStore(new LocalBlobStore(Root), gate, GatedStore.Kind.Writes), ActorCkptSettings.Create(Sys), "pipelined");

    /// <summary>Rank <paramref name="rank"/> of 2: row halves of <see cref="Tensors"/> float32 tensors of 2 MiB, from <paramref name="seed"/>.</summary>
    private static RankState State(int rank, int seed, bool zeros = false)
    {
        var state = new RankState(rank, 2);
        for (var t = 0; t < Tensors; t++)
        {
            var half = zeros
                ? torch.zeros(Rows / 2, Cols)
                : torch.rand(Rows, Cols, generator: new torch.Generator((ulong)(seed * 100 + t))).narrow(0, rank * Rows / 2, Rows / 2).contiguous();
            state.AddSharded($"layer{t}.w", half, 0, rank * Rows / 2, Rows);
        }
        return state;
    }

    [Fact]
    public async Task Tensors_changed_right_after_Staged_should_not_change_the_checkpoint()
    {
        var gate = new GatedStore.Gate();
        var node = StartGatedNode(gate);
        var states = new[] { State(0, seed: 5), State(1, seed: 5) };

        var handles = states.Select(s => node.Save(1, s)).ToArray();
        // Staged does not wait for the writers, which are held at their first file.
        await Task.WhenAll(handles.Select(h => h.Staged)).WaitAsync(Patience);
        foreach (var t in states.SelectMany(s => s.Tensors)) t.Tensor.fill_(-1.0f);
        gate.Open();
        await Task.WhenAll(handles.Select(h => h.Committed)).WaitAsync(Patience);

        var targets = new[] { State(0, 0, zeros: true), State(1, 0, zeros: true) };
        await LoadAllAsync(node, targets, step: 1);
        var expected = new[] { State(0, seed: 5), State(1, seed: 5) };
        for (var r = 0; r < 2; r++)
            for (var t = 0; t < Tensors; t++)
                Assert.True(targets[r].Tensors[t].Tensor.allclose(expected[r].Tensors[t].Tensor, rtol: 0, atol: 0), $"rank {r}, tensor {t} differs from the state saved");
        Assert.All(handles, h => Assert.Equal((long)Tensors * Rows / 2 * Cols * 4, h.BytesStaged));
        TestStates.Dispose(states.Concat(targets).Concat(expected));
    }

    [Fact]
    public async Task A_save_whose_writers_start_before_the_copy_ends_should_be_bit_exact_with_checksums_of_its_bytes()
    {
        var node = StartNode();
        var states = new[] { State(0, seed: 6), State(1, seed: 6) };

        var handles = states.Select(s => node.Save(2, s)).ToArray();
        await Task.WhenAll(handles.Select(h => h.Staged)).WaitAsync(Patience);
        foreach (var t in states.SelectMany(s => s.Tensors)) t.Tensor.zero_();
        await Task.WhenAll(handles.Select(h => h.Committed)).WaitAsync(Patience);

        // Every block's recorded checksum is that of the bytes in its file.
        Assert.Empty(CheckpointVerifier.Verify(node.Store, 2));
        var targets = new[] { State(0, 0, zeros: true), State(1, 0, zeros: true) };
        await LoadAllAsync(node, targets, step: 2);
        var expected = new[] { State(0, seed: 6), State(1, seed: 6) };
        for (var r = 0; r < 2; r++)
            for (var t = 0; t < Tensors; t++)
                Assert.True(targets[r].Tensors[t].Tensor.allclose(expected[r].Tensors[t].Tensor, rtol: 0, atol: 0), $"rank {r}, tensor {t} differs from the state saved");
        TestStates.Dispose(states.Concat(targets).Concat(expected));
    }
}
