using ActorCkpt.Io.Tests;

namespace ActorCkpt.Actors.Tests;

/// <summary>
/// A replicated tensor loaded by several ranks of one node from an object store is downloaded once
/// per node, not once per rank (Azurite and s3rver): the ranged GETs the service answers, counted
/// in the HTTP handler, add up to the stored bytes once. The loads are held at a gate until every
/// rank has joined, so what is shared does not depend on timing.
/// </summary>
[Collection(ObjectEmulatorCollection.Name)]
public class ObjectStoreSharedReadsSpec(ObjectEmulators emulators) : NodeSpec
{
    private static readonly IReadOnlyList<(string Key, DType DType, Layout Layout, long Rows, long Cols)> Replicated =
        TestStates.Model(new[] { DType.Float32, DType.BFloat16, DType.Int64 }, new[] { Layout.Replicated });

    [Theory]
    [InlineData("az")]
    [InlineData("s3")]
    public async Task Four_ranks_loading_a_replicated_state_should_download_it_once(string service)
    {
        FaultHandler http = null!;
        var options = emulators.Options(service) with
        {
            CreateMissing = true, StateDirectory = Path.Combine(Root, "state"), WrapHandler = inner => http = new FaultHandler(inner),
        };
        var objects = BlobStores.Open($"{service}://{ObjectEmulators.NewContainer()}/job", options);
        var gate = new GatedStore.Gate();
        var store = new CountingReadStore(objects, gate, CountingReadStore.Hold.AllReads);
        var node = CheckpointNode.Start(Sys, store, ActorCkptSettings.Create(Sys), "objects");
        var states = TestStates.Build(Replicated, 4, seed: 3);
        var targets = TestStates.Empty(Replicated, 4);
        await SaveAllAsync(node, 1, states);
        var stored = node.Store.ReadMetadata(1).Tensors.Values.SelectMany(t => t.Chunks).Sum(c => c.Bytes.Length);
        http.RangeBytes.Clear();

        var loads = targets.Select(t => node.LoadAsync(t, 1)).ToArray();
        await AwaitConditionAsync(() => Task.FromResult(node.SharedReads.Loading(1) == targets.Length), Patience);
        gate.Open();
        await Task.WhenAll(loads).WaitAsync(Patience);

        Assert.Empty(TestStates.Differences(Replicated, targets, seed: 3));
        var downloaded = http.RangeBytes.Where(r => r.Key.EndsWith(".safetensors", StringComparison.Ordinal)).Sum(r => r.Value);
        Assert.Equal(stored, downloaded);
        Assert.Equal(stored, store.BytesRead);
        TestStates.Dispose(states.Concat(targets));
    }
}
