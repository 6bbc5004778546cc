using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ActorCkpt.SharedTests;
using TorchSharp;

namespace ActorCkpt.Hosting.Tests;

/// <summary>
/// Training hosts that form an Akka.NET cluster with Akka.Hosting (WithRemoting, WithClustering)
/// and run ActorCkpt in it: the shipped cluster settings lie under theirs, every rank saves into
/// one checkpoint, and a node without the rank role says what to add.
/// </summary>
public sealed class ClusterHostingSpec : IDisposable
{
    private const string SystemName = "train";
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string Root => Path.Combine(_temp.Path, "ckpt");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private IHost Node(int port, string seed, string[] roles, Action<AkkaConfigurationBuilder>? before = null, Action<ActorCkptOptions>? options = null)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddAkka(SystemName, (akka, _) =>
        {
            before?.Invoke(akka);
            akka.WithRemoting("127.0.0.1", port)
                .WithClustering(new ClusterOptions { Roles = roles, SeedNodes = [seed] })
                .WithActorCkpt(o =>
                {
                    o.Root = Root;
                    options?.Invoke(o);
                });
        });
        builder.Services.AddActorCkptCheckpointer();
        return builder.Build();
    }

    [Fact]
    public void The_shipped_cluster_settings_lie_under_the_hosts_own()
    {
        var akka = new AkkaConfigurationBuilder(new ServiceCollection(), SystemName)
            .AddHocon("akka.cluster.failure-detector.acceptable-heartbeat-pause = 7s", HoconAddMode.Prepend)
            .WithRemoting("127.0.0.1", 4053)
            .WithClustering(new ClusterOptions { Roles = ["rank"], SeedNodes = ["akka.tcp://train@127.0.0.1:4053"] })
            .WithActorCkpt(o => o.Root = Root);
        var config = akka.Configuration.Value;

        // The host's: roles, seed nodes, address, and a failure-detector setting it chose.
        Assert.Equal(["rank"], config.GetStringList("akka.cluster.roles"));
        Assert.Equal(["akka.tcp://train@127.0.0.1:4053"], config.GetStringList("akka.cluster.seed-nodes"));
        Assert.Equal(4053, config.GetInt("akka.remote.dot-netty.tcp.port"));
        Assert.Equal(TimeSpan.FromSeconds(7), config.GetTimeSpan("akka.cluster.failure-detector.acceptable-heartbeat-pause"));
        // hocon/cluster.conf's where the host set nothing.
        Assert.Equal("keep-majority", config.GetString("akka.cluster.split-brain-resolver.active-strategy"));
        Assert.Equal(TimeSpan.FromSeconds(1), config.GetTimeSpan("akka.cluster.failure-detector.heartbeat-interval"));
        Assert.Equal(32L << 20, config.GetByteSize("akka.remote.dot-netty.tcp.maximum-frame-size"));
        // The singleton defaults stay the host's: they apply to its own singletons too.
        Assert.Equal("singleton", config.GetString("akka.cluster.singleton.singleton-name"));
        Assert.Equal("", config.GetString("akka.cluster.singleton.role"));
        // ActorCkpt's defaults under it all.
        Assert.Equal(4, config.GetInt("actorckpt.writer.pool-size"));
    }

    [Fact]
    public void WithActorCkpt_called_twice_on_one_builder_should_be_refused_in_one_line()
    {
        var akka = new AkkaConfigurationBuilder(new ServiceCollection(), SystemName).WithActorCkpt(o => o.Root = Root);

        // Before: the host's start failed with Akka's 'Actor name "actorckpt-planner" is not unique!'.
        var twice = Assert.Throws<InvalidOperationException>(() => akka.WithActorCkpt(o => o.Root = Root));
        Assert.Equal("WithActorCkpt was called twice on this AddAkka: an ActorSystem runs one ActorCkpt; configure it in one call", twice.Message);
        // Another builder (another host) is its own.
        new AkkaConfigurationBuilder(new ServiceCollection(), SystemName).WithActorCkpt(o => o.Root = Root);
    }

    [Fact]
    public void A_cluster_host_that_names_no_roles_gets_all_three()
    {
        var akka = new AkkaConfigurationBuilder(new ServiceCollection(), SystemName)
            .WithClustering(new ClusterOptions { SeedNodes = ["akka.tcp://train@127.0.0.1:4053"] })
            .WithActorCkpt(o => o.Root = Root);
        Assert.Equal(["rank", "writer", "planner"], akka.Configuration.Value.GetStringList("akka.cluster.roles"));
    }

    [Fact]
    public async Task Two_hosts_form_a_cluster_and_both_ranks_save_one_checkpoint_and_load_it()
    {
        int port1 = LoopbackPort.Free(), port2 = LoopbackPort.Free();
        var seed = $"akka.tcp://{SystemName}@127.0.0.1:{port1}";
        string[] roles = ["rank", "writer", "planner"];
        using var node1 = Node(port1, seed, roles);
        using var node2 = Node(port2, seed, roles);
        await node1.StartAsync(Ct);
        await node2.StartAsync(Ct);
        var ckpt1 = node1.Services.GetRequiredService<ICheckpointer>();
        var ckpt2 = node2.Services.GetRequiredService<ICheckpointer>();
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        bound.CancelAfter(TimeSpan.FromMinutes(2));

        using var w0 = torch.arange(0, 8, dtype: torch.float32);
        using var w1 = torch.arange(8, 16, dtype: torch.float32);
        var saves = await Task.WhenAll(
            ckpt1.SaveAsync(3, new RankState(0, 2).AddSharded("w", w0, 0, 0, 16), bound.Token),
            ckpt2.SaveAsync(3, new RankState(1, 2).AddSharded("w", w1, 0, 8, 16), bound.Token));
        Assert.All(saves, s => Assert.Equal(3, s.Step));

        // Each node's checkpointer runs in that node's own ActorSystem.
        Assert.Same(node1.Services.GetRequiredService<ActorSystem>(), (await ((DeferredCheckpointer)ckpt1).Ready).System);
        Assert.Same(node2.Services.GetRequiredService<ActorSystem>(), (await ((DeferredCheckpointer)ckpt2).Ready).System);

        // Rank 1's half, read back on node 2 into one rank of a world of one: the whole tensor.
        using var whole = torch.zeros(16);
        await ckpt2.LoadAsync(new RankState(0, 1).AddReplicated("w", whole), 3, cancellationToken: bound.Token);
        Assert.Equal(Enumerable.Range(0, 16).Select(i => (float)i).ToArray(), whole.data<float>().ToArray());

        await node2.StopAsync(Ct);
        await node1.StopAsync(Ct);
    }

    [Fact]
    public async Task A_save_still_in_flight_when_a_clustered_host_stops_should_fail_saying_the_wait_ran_out()
    {
        var port = LoopbackPort.Free();
        var gate = new WriteGate();
        using var node = Node(port, $"akka.tcp://{SystemName}@127.0.0.1:{port}", ["rank", "writer", "planner"], options: o =>
        {
            o.FinishSavesTimeout = TimeSpan.FromMilliseconds(300);
            o.WrapStore = inner => new GatedWrites(inner, gate);
        });
        await node.StartAsync(Ct);

        // Before: "the planner … was lost": the cluster's shutdown stops the planner's singleton before the shard actors.
        Assert.Equal(SaveCutOff.Message, (await SaveCutOff.StopDuringSaveAsync(node, gate, Ct)).Message);
    }

    [Fact]
    public async Task A_save_on_a_node_without_the_rank_role_names_the_role_and_the_fix()
    {
        var port = LoopbackPort.Free();
        using var node = Node(port, $"akka.tcp://{SystemName}@127.0.0.1:{port}", ["writer", "planner"]);
        await node.StartAsync(Ct);
        using var w = torch.ones(2);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            node.Services.GetRequiredService<ICheckpointer>().SaveAsync(1, new RankState(0, 1).AddReplicated("w", w), Ct));
        Assert.Equal("this node has no 'rank' role, so it cannot save or load ranks; add \"rank\" to its cluster roles (CheckpointClusterOptions.Roles with Checkpointer.Start, ClusterOptions.Roles with Akka.Hosting, or akka.cluster.roles)", e.Message);
        await node.StopAsync(Ct);
    }
}
