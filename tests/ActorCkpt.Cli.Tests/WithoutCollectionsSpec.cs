using System.Runtime;
using ActorCkpt.Cli.Train;
using TorchSharp;
using static TorchSharp.torch;

namespace ActorCkpt.Cli.Tests;

/// <summary>
/// train's optimizer steps run with no garbage collection (<see cref="WithoutCollections"/>): the
/// implicit Scalars TorchSharp's optimizers make must live until libtorch has read them. Alone: the
/// region is the process's, and other tests' allocations would count against its budget.
/// </summary>
[Collection(ProcessMemoryCollection.Name)]
public sealed class WithoutCollectionsSpec
{
    [Fact]
    public void An_optimizer_step_should_run_in_a_no_gc_region_that_ends_with_it()
    {
        using var weight = nn.Parameter(ones(64, 64));
        using var optimizer = optim.AdamW([weight], lr: 0.01, amsgrad: true);
        using (var loss = weight.square().sum()) loss.backward();
        var modes = new List<GCLatencyMode>();
        var collections = -1;

        WithoutCollections.Run(() =>
        {
            var before = GC.CollectionCount(0);
            modes.Add(GCSettings.LatencyMode);
            optimizer.step();
            // Garbage of the kind a step makes: no collection frees (and finalizes) any of it meanwhile.
            for (var i = 0; i < 10_000; i++) GC.KeepAlive(new byte[64]);
            collections = GC.CollectionCount(0) - before;
        });

        Assert.Equal([GCLatencyMode.NoGCRegion], modes);
        Assert.Equal(0, collections);
        Assert.NotEqual(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
        Assert.True(weight.data<float>()[0] < 1, "the step did not change the weight");
    }
}
