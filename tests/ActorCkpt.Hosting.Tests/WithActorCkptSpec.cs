using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using TorchSharp;

namespace ActorCkpt.Hosting.Tests;

/// <summary>
/// <c>WithActorCkpt</c> in an Akka.Hosting.TestKit host: ActorCkpt's actors run in the host's own
/// ActorSystem, and the <see cref="ICheckpointer"/> from the host's services saves and loads.
/// </summary>
public sealed class WithActorCkptSpec(ITestOutputHelper output) : Akka.Hosting.TestKit.TestKit(nameof(WithActorCkptSpec), output)
{
    private readonly TempDirectory _temp = new();

    private string Root => Path.Combine(_temp.Path, "ckpt");

    protected override void ConfigureServices(HostBuilderContext context, IServiceCollection services) => services.AddActorCkptCheckpointer();

    protected override void ConfigureAkka(AkkaConfigurationBuilder builder, IServiceProvider provider) =>
        builder.WithActorCkpt(o =>
        {
            o.Root = Root;
            o.Settings["retention.keep-last"] = "2";
        });

    [Fact]
    public async Task Saves_and_loads_inside_the_hosts_own_ActorSystem()
    {
        var ct = TestContext.Current.CancellationToken;
        var ckpt = Host.Services.GetRequiredService<ICheckpointer>();
        using var weights = torch.arange(12, dtype: torch.float32).reshape(3, 4);
        var saved = await ckpt.SaveAsync(1, new RankState(0, 1).AddReplicated("w", weights), ct);
        Assert.Equal(1, saved.Step);

        using var loaded = torch.zeros(3, 4);
        var result = await ckpt.LoadAsync(new RankState(0, 1).AddReplicated("w", loaded), cancellationToken: ct);
        Assert.Equal(1, result.Step);
        Assert.Equal(weights.data<float>().ToArray(), loaded.data<float>().ToArray());
        Assert.Equal(1, await ckpt.GetLatestStepAsync(ct));

        // One ActorSystem: the host's. The checkpointer runs in it and its planner lives under it.
        Assert.Same(Sys, Host.Services.GetRequiredService<ActorSystem>());
        Assert.Same(Sys, (await ((DeferredCheckpointer)ckpt).Ready).System);
        var planner = await Sys.ActorSelection($"/user/{CheckpointNode.DefaultName}-planner").ResolveOne(TimeSpan.FromSeconds(10), ct);
        Assert.Equal(Sys.Name, planner.Path.Address.System);
    }

    [Fact]
    public void The_catalog_is_journaled_under_ActorCkpts_own_plugin_ids_and_the_hosts_default_journal_is_left_alone()
    {
        // Akka.Persistence lays its defaults under the configuration when it is first loaded (the
        // planner loads it as it starts, perhaps not yet): load it here so they are surely there.
        Akka.Persistence.Persistence.Instance.Apply(Sys);
        var config = Sys.Settings.Config;
        Assert.Equal("akka.persistence.journal.actorckpt-catalog", ActorCkptConfig.JournalPluginId);
        Assert.Equal($"Data Source={Path.Combine(Path.GetFullPath(Root), "catalog.db")};Pooling=False",
            config.GetString(ActorCkptConfig.JournalPluginId + ".connection-string"));
        Assert.Equal("SQLite.MS", config.GetString(ActorCkptConfig.SnapshotPluginId + ".provider-name"));
        // The host's default plugins are still Akka.Persistence's own.
        var persistence = Akka.Persistence.Persistence.DefaultConfig();
        Assert.Equal(persistence.GetString("akka.persistence.journal.plugin"), config.GetString("akka.persistence.journal.plugin"));
        Assert.Equal(persistence.GetString("akka.persistence.snapshot-store.plugin"), config.GetString("akka.persistence.snapshot-store.plugin"));
        // The options' settings are in force, over the library's defaults, which fill in the rest.
        Assert.Equal(2, config.GetInt("actorckpt.retention.keep-last"));
        Assert.Equal(4, config.GetInt("actorckpt.writer.pool-size"));
    }

    /// <summary>A host's own message, with no serialization binding of its own.</summary>
    public sealed record HostMessage(string Text);

    [Fact]
    public void The_hosts_own_messages_keep_Akkas_serialization_and_the_host_runs_the_shutdown()
    {
        // ActorCkpt's nodes refuse types without a binding; the host's system must not (its
        // persisted events and remote messages failed: "No serializer binding found").
        var serializer = Sys.Serialization.FindSerializerFor(new HostMessage("x"));
        Assert.Equal(typeof(HostMessage), serializer.FromBinary(serializer.ToBinary(new HostMessage("x")), typeof(HostMessage)).GetType());
        // Ctrl-C and SIGTERM stop the host's services first (a trainer's save in flight commits), then the system.
        Assert.False(Sys.Settings.Config.GetBoolean("akka.coordinated-shutdown.run-by-clr-shutdown-hook"));
    }

    protected override async Task AfterAllAsync()
    {
        await base.AfterAllAsync();
        _temp.Dispose();
    }
}
