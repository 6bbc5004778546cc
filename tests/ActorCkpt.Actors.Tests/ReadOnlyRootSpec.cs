using Akka.Actor;
using Akka.Configuration;

namespace ActorCkpt.Actors.Tests;

/// <summary>A root that cannot be written loads (no lock, no lease needed) and refuses every save at once, naming why.</summary>
public sealed class ReadOnlyRootSpec : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private static readonly IReadOnlyList<(string Key, DType DType, Layout Layout, long Rows, long Cols)> Model =
        TestStates.Model(new[] { DType.Float32, DType.Int64 }, new[] { Layout.Rows, Layout.Replicated });

    private readonly string _root = Path.Combine(Path.GetTempPath(), "actorckpt-readonly-" + Guid.NewGuid().ToString("N"));

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>Storage as a read-only mount answers: every write and the lock fail with EROFS.</summary>
    private sealed class ReadOnlyStore(IBlobStore inner) : DelegatingBlobStore(inner)
    {
        public override IBlobWriter Create(string path) => throw StorageErrors.ReadOnly(path);
        public override void Rename(string from, string to, bool overwrite) => throw StorageErrors.ReadOnly(to);
        public override void CreateDirectory(string path) => throw StorageErrors.ReadOnly(path);
        public override void DeleteFile(string path) => throw StorageErrors.ReadOnly(path);
        public override void DeleteDirectory(string path) => throw StorageErrors.ReadOnly(path);
        public override IDisposable Lock(string path) => throw StorageErrors.ReadOnly(path);
    }

    private ActorSystem System(string name) => ActorSystem.Create(name, ActorCkptConfig.WithCatalog(
        ConfigurationFactory.ParseString("akka.loglevel = WARNING").WithFallback(ActorCkptConfig.Defaults), _root));

    [Fact]
    public async Task A_read_only_root_should_load_its_newest_step_and_refuse_a_save_at_once_naming_why()
    {
        var states = TestStates.Build(Model, 2, seed: 21);
        using (var writable = System("writable"))
        {
            var node = CheckpointNode.Start(writable, new LocalBlobStore(_root));
            await Task.WhenAll(states.Select(s => node.Save(3, s).Committed)).WaitAsync(Bound);
            await writable.Terminate().WaitAsync(Bound);
        }

        using var system = System("read-only");
        var readOnly = CheckpointNode.Start(system, new ReadOnlyStore(new LocalBlobStore(_root)));
        var targets = TestStates.Empty(Model, 2);
        var loaded = await Task.WhenAll(targets.Select(t => readOnly.LoadAsync(t, null, null))).WaitAsync(Bound);
        Assert.Equal(new long[] { 3, 3 }, loaded.Select(l => l.Step));
        Assert.Empty(TestStates.Differences(Model, targets, seed: 21));

        var failed = await Assert.ThrowsAsync<CheckpointFailedException>(() => readOnly.Save(4, states[0]).Committed.WaitAsync(Bound));
        Assert.Equal($"save of step 4 failed: the checkpoint root '{_root}' is read-only (Read-only file system : 'catalog.lock'): checkpoints can be loaded from it, not saved to it", failed.Message);
        // Nothing is uploaded from a root nothing is saved to: a host waiting for uploads before it exits goes on.
        await readOnly.WaitForUploadsAsync(Bound);
        await system.Terminate().WaitAsync(Bound);
        TestStates.Dispose(states.Concat(targets));
    }
}
