using TorchSharp;

namespace ActorCkpt.Host.Tests;

/// <summary>
/// A load of training parts takes its lease on the step before it reads the step's metadata, so
/// retention running meanwhile cannot remove the step it is loading.
/// </summary>
public sealed class LoadLeaseSpec : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Retention_running_while_a_load_reads_the_metadata_should_not_remove_the_step_being_loaded()
    {
        // Keep only the newest step, and remove files at once (no grace after start).
        await using var ckpt = Checkpointer.Start(_temp.Path, "actorckpt.retention.keep-last = 1\nactorckpt.retention.grace-after-start = 0s");
        using var saved = torch.arange(12, dtype: torch.float32).reshape(3, 4);
        await ckpt.SaveAsync(1, new RankState(0, 1).AddReplicated("w", saved));

        // Rank 1 of 2 loads step 1; its part stops where it has the metadata in hand.
        using var loaded = torch.zeros(3, 4);
        var part = new HeldPart(loaded);
        var load = Task.Run(() => ckpt.LoadAsync(1, 2, new IStateful[] { part }, step: 1));
        await part.Entered.WaitAsync(Patience);

        // Meanwhile step 2 commits (from a rank of another shard actor), and retention deletes step 1.
        using var newer = torch.ones(3, 4);
        await ckpt.SaveAsync(2, new RankState(0, 1).AddReplicated("w", newer));
        var catalog = await ckpt.ReadCatalogAsync();
        Assert.Equal(CheckpointStatus.Deleted, catalog.Single(e => e.Step == 1).Status);

        part.Release();
        var result = await load.WaitAsync(Patience);

        Assert.Equal(1, result.Step);
        Assert.Equal(saved.data<float>().ToArray(), loaded.data<float>().ToArray());
        // The lease is over: step 1's files go (the collection answers once they are gone).
        await ckpt.CollectGarbageAsync(Patience);
        Assert.False(Directory.Exists(Path.Combine(_temp.Path, CheckpointLayout.StepDirectory(1))));
    }

    /// <summary>A part whose <see cref="IStateful.PrepareLoad"/> waits for the test once it has the metadata.</summary>
    private sealed class HeldPart(torch.Tensor destination) : IStateful
    {
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ManualResetEventSlim _released = new();

        public Task Entered => _entered.Task;

        public void Release() => _released.Set();

        public void Save(RankState state) => throw new NotSupportedException();

        public void PrepareLoad(RankState target, CheckpointMetadata saved)
        {
            _entered.TrySetResult();
            // Going on unreleased would let the load finish before retention ran: fail it instead.
            if (!_released.Wait(Patience)) throw new TimeoutException($"the test did not release the load within {Patience}");
            target.AddReplicated("w", destination);
        }

        public void Restore(LoadResult result)
        {
        }
    }
}
