using TorchSharp;

namespace ActorCkpt.Host.Tests;

/// <summary>A store a test's wrapper made for a checkpointer (fault injection) stops with it: a write it holds does not outlive the node.</summary>
public sealed class WrappedStoreSpec : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_fault_store_holding_a_write_should_be_stopped_with_its_checkpointer()
    {
        var gate = new WriteGate();
        FaultInjectingBlobStore? faults = null;
        var ckpt = Checkpointer.Start(_temp.Path, null, inner => faults = new FaultInjectingBlobStore(inner, FaultPolicy.BlockNth(1, gate)));
        using var w = torch.ones(64);
        var save = ckpt.SaveAsync(1, new RankState(0, 1).AddReplicated("w", w));
        await gate.Entered.WaitAsync(TimeSpan.FromSeconds(30));

        await ckpt.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));

        // Before, nothing stopped the store: its held write waited for the gate after the node was gone, and went on when it opened.
        gate.Open();
        Assert.Equal("'x.safetensors': the node writing through these storage faults has stopped",
            Assert.Throws<IOException>(() => faults!.Create("x.safetensors")).Message);
        await Assert.ThrowsAnyAsync<Exception>(() => save.WaitAsync(TimeSpan.FromSeconds(30)));
    }
}
