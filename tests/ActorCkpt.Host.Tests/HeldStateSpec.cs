using TorchSharp;

namespace ActorCkpt.Host.Tests;

/// <summary>
/// A save holds what it reads from the moment it is called: a tensor its caller disposes while the save
/// runs is still read whole (its memory held, never the caller's handle disposed), entries added to the
/// state meanwhile are not in it, and a failed save's tasks are not reported as unobserved. A load holds
/// its target's memory the same way.
/// </summary>
public sealed class HeldStateSpec : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Tensors_disposed_right_after_the_call_should_still_be_saved_whole(bool inPlace)
    {
        await using var ckpt = Checkpointer.Start(_temp.Path);
        var tensors = Enumerable.Range(0, 8).Select(i => torch.arange(i * 1_000_000, (i + 1) * 1_000_000, dtype: torch.float32)).ToArray();
        var state = new RankState(0, 1);
        for (var i = 0; i < tensors.Length; i++) state.AddReplicated($"t{i}", tensors[i]);

        var save = inPlace ? ckpt.SaveInPlaceAsync(1, state) : ckpt.SaveAsync(1, state);
        foreach (var t in tensors) t.Dispose();

        // Before: "'t0' could not be read: Tensor invalid -- empty handle", data read from freed memory, or a crash.
        await save.WaitAsync(Patience);
        var targets = Enumerable.Range(0, 8).Select(_ => torch.zeros(1_000_000)).ToArray();
        var loaded = new RankState(0, 1);
        for (var i = 0; i < targets.Length; i++) loaded.AddReplicated($"t{i}", targets[i]);
        await ckpt.LoadAsync(loaded).WaitAsync(Patience);
        for (var i = 0; i < targets.Length; i++)
        {
            using var expected = torch.arange(i * 1_000_000, (i + 1) * 1_000_000, dtype: torch.float32);
            Assert.Equal(expected.data<float>().ToArray(), targets[i].data<float>().ToArray());
            targets[i].Dispose();
        }
    }

    [Fact]
    public async Task Load_targets_disposed_right_after_the_call_should_still_be_filled()
    {
        await using var ckpt = Checkpointer.Start(_temp.Path);
        using (var saved = torch.arange(0, 8_000_000, dtype: torch.float32))
        {
            var state = new RankState(0, 1);
            for (var i = 0; i < 8; i++) state.AddReplicated($"t{i}", saved.narrow(0, i * 1_000_000, 1_000_000));
            await ckpt.SaveAsync(1, state).WaitAsync(Patience);
        }
        // The targets are views of one tensor the test keeps: what the load fills stays visible through it.
        using var whole = torch.zeros(8_000_000);
        var targets = Enumerable.Range(0, 8).Select(i => whole.narrow(0, i * 1_000_000, 1_000_000)).ToArray();
        var loaded = new RankState(0, 1);
        for (var i = 0; i < targets.Length; i++) loaded.AddReplicated($"t{i}", targets[i]);

        var load = ckpt.LoadAsync(loaded, 1);
        foreach (var t in targets) t.Dispose();

        // Before: "Tensor invalid -- empty handle" for the disposed targets, or bytes written into freed memory.
        await load.WaitAsync(Patience);
        using var expected = torch.arange(0, 8_000_000, dtype: torch.float32);
        Assert.Equal(expected.data<float>().ToArray(), whole.data<float>().ToArray());
    }

    [Fact]
    public async Task A_load_into_a_tensor_disposed_before_the_call_should_fail_naming_it()
    {
        await using var ckpt = Checkpointer.Start(_temp.Path);
        using (var w = torch.ones(1000)) await ckpt.SaveAsync(1, new RankState(0, 1).AddReplicated("w", w)).WaitAsync(Patience);
        var target = torch.zeros(1000);
        var loaded = new RankState(0, 1).AddReplicated("w", target);
        target.Dispose();

        // Before: "Tensor invalid -- empty handle", naming nothing.
        var e = await Assert.ThrowsAsync<ActorCkptException>(() => ckpt.LoadAsync(loaded, 1).WaitAsync(Patience));
        Assert.Equal("'w' cannot be loaded into its tensor: it was disposed before the load was called", e.Message);
    }

    [Fact]
    public async Task Entries_added_after_the_call_should_go_to_the_next_save_not_this_one()
    {
        await using var ckpt = Checkpointer.Start(_temp.Path);
        using var w = torch.ones(1000);
        var state = new RankState(0, 1).AddReplicated("w", w);

        var starting = ckpt.StartSaveAsync(1, state);
        // Before: added while the shard actor read the list, they were saved or not, or failed the save ("Collection was modified").
        for (var k = 0; k < 200; k++) state.AddJson($"extra{k}", k, ObjectScope.Global);
        await (await starting.WaitAsync(Patience)).Committed.WaitAsync(Patience);
        await ckpt.SaveAsync(2, state).WaitAsync(Patience);

        using var target = torch.zeros(1000);
        Assert.Empty((await ckpt.LoadAsync(new RankState(0, 1).AddReplicated("w", target), 1).WaitAsync(Patience)).Objects);
        Assert.Equal(200, (await ckpt.LoadAsync(new RankState(0, 1).AddReplicated("w", target), 2).WaitAsync(Patience)).Objects.Count);
    }

    [Fact]
    public async Task A_failed_save_awaited_and_caught_should_leave_no_unobserved_task_exception()
    {
        const long step = 770_001;
        var unobserved = new List<Exception>();
        void Record(object? sender, UnobservedTaskExceptionEventArgs e)
        {
            lock (unobserved) unobserved.AddRange(e.Exception.InnerExceptions.Where(x => x.Message.Contains($"step {step}")));
        }
        TaskScheduler.UnobservedTaskException += Record;
        try
        {
            await FailSavesAsync(_temp.Path, step);
            // The checkpointer, which keeps its handles for FinalizeAsync, is gone: so are the handles' tasks.
            for (var i = 0; i < 3; i++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
            // Before: each save's other task (Staged under SaveAsync, Committed under StartSaveAsync) was reported here.
            lock (unobserved) Assert.Empty(unobserved);
        }
        finally
        {
            TaskScheduler.UnobservedTaskException -= Record;
        }
    }

    /// <summary>Two saves refused by a disposed checkpointer, each awaited and its error caught; out of line, so that nothing of them stays reachable.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static async Task FailSavesAsync(string root, long step)
    {
        var ckpt = Checkpointer.Start(root);
        await ckpt.DisposeAsync();
        using var w = torch.ones(4);
        await Assert.ThrowsAsync<ActorCkptException>(() => ckpt.SaveAsync(step, new RankState(0, 1).AddReplicated("w", w)));
        await Assert.ThrowsAsync<ActorCkptException>(() => ckpt.StartSaveAsync(step, new RankState(0, 1).AddReplicated("w", w)));
    }
}
