using ActorCkpt.Io;

namespace ActorCkpt.Actors.Tests;

/// <summary>A store whose data-file reads wait at a gate until the test opens it: it holds a load mid-read.</summary>
public sealed class GatedReadStore(IBlobStore inner, GatedReadStore.Gate gate) : DelegatingBlobStore(inner)
{
    public override IBlobReader OpenRead(string path)
    {
        if (path.EndsWith(".safetensors", StringComparison.Ordinal)) gate.Pass();
        return Inner.OpenRead(path);
    }

    /// <summary>Closed until <see cref="Open"/>; <see cref="Entered"/> completes when the first reader waits at it.</summary>
    public sealed class Gate
    {
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ManualResetEventSlim _open = new();

        public Task Entered => _entered.Task;

        public void Open() => _open.Set();

        public void Pass()
        {
            if (_open.IsSet) return;
            _entered.TrySetResult();
            _open.Wait();
        }
    }
}
