using Akka.Actor;
using TorchSharp;

namespace ActorCkpt.Host.Tests;

/// <summary>
/// <see cref="Checkpointer.Stopped"/> is cancelled once the node has stopped. A termination signal
/// makes Akka leave the cluster through its coordinated shutdown (run here as its handler runs it),
/// but nothing ends a clustered process then: before, a program had no way to learn it and idled
/// for good. Disposing stops it too.
/// </summary>
public sealed class StoppedTokenSpec : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Stopped_should_be_cancelled_when_a_termination_signal_makes_the_node_leave_and_when_it_is_disposed()
    {
        var port = LoopbackPort.Free();
        var cluster = new CheckpointClusterOptions { Host = "127.0.0.1", Port = port };
        cluster.SeedNodes.Add($"127.0.0.1:{port}");
        var clustered = await Checkpointer.StartAsync(new CheckpointerOptions
        {
            Root = Path.Combine(_temp.Path, "clustered"), Cluster = cluster, Hocon = "akka.loglevel = WARNING",
        }).WaitAsync(TimeSpan.FromMinutes(2));
        await using var local = Checkpointer.Start(Path.Combine(_temp.Path, "local"));
        Assert.False(clustered.Stopped.IsCancellationRequested);

        // What Akka's SIGTERM handler does.
        await CoordinatedShutdown.Get(clustered.System).Run(CoordinatedShutdown.ClrExitReason.Instance).WaitAsync(TimeSpan.FromMinutes(1));
        await Task.Delay(Timeout.Infinite, clustered.Stopped).ContinueWith(_ => { }).WaitAsync(TimeSpan.FromMinutes(1));
        Assert.True(clustered.Stopped.IsCancellationRequested);
        await clustered.DisposeAsync();

        Assert.False(local.Stopped.IsCancellationRequested);
        using var w = torch.ones(2);
        await local.SaveAsync(1, new RankState(0, 1).AddReplicated("w", w));
        await local.DisposeAsync();
        Assert.True(local.Stopped.IsCancellationRequested);

        // After the stop, what needs the node fails; the root's newest step and the saves' outcomes are still told.
        await Assert.ThrowsAnyAsync<Exception>(() => local.SaveAsync(2, new RankState(0, 1).AddReplicated("w", w)));
        Assert.Equal(1L, await local.GetLatestStepAsync());
        Assert.Equal([(1L, SaveStatus.Committed), (2L, SaveStatus.Failed)], (await local.FinalizeAsync(blocking: true)).Select(o => (o.Step, o.Status)));
    }
}
