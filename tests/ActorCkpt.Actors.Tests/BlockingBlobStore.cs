
namespace ActorCkpt.Actors.Tests;

/// <summary>
/// A store whose data-file writes (of steps from <paramref name="fromStep"/> on) hang until
/// <see cref="Release"/>: it holds a save mid-write so that a test can kill a node at that moment.
/// Writes held fail when released; later ones go through.
/// </summary>
internal sealed class BlockingBlobStore(IBlobStore inner, long fromStep = 0) : DelegatingBlobStore(inner)
{
    private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ManualResetEventSlim _released = new();

    /// <summary>Completes when the first write has started (and hangs).</summary>
    public Task Entered => _entered.Task;

    /// <summary>Lets every hanging write go on, to fail.</summary>
    public void Release() => _released.Set();

    public override IBlobWriter Create(string path)
    {
        if (!path.EndsWith(".safetensors", StringComparison.Ordinal) || _released.IsSet
            || !CheckpointLayout.TryParseStepDirectory(path.Split('/')[0], out var step) || step < fromStep)
            return Inner.Create(path);
        _entered.TrySetResult();
        _released.Wait();
        throw new IOException($"'{path}': the node was killed during this write");
    }
}
