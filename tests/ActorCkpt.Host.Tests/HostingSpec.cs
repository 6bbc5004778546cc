using ActorCkpt.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using TorchSharp;

namespace ActorCkpt.Host.Tests;

/// <summary>
/// A generic host without an ActorSystem of its own, started with <c>AddActorCkpt</c> (AddAkka +
/// WithActorCkpt underneath), hands the training code an <see cref="ICheckpointer"/> configured
/// from appsettings (a HOCON file and single settings), and finishes the saves in flight when it stops.
/// </summary>
public sealed class HostingSpec : IDisposable
{
    private readonly TempDirectory _temp = new();

    public HostingSpec() => Directory.CreateDirectory(_temp.Path);

    public void Dispose() => _temp.Dispose();

    private string Root => Path.Combine(_temp.Path, "ckpt");

    [Fact]
    public async Task The_host_starts_a_node_from_configuration_and_injects_a_working_checkpointer()
    {
        var hocon = Path.Combine(_temp.Path, "actorckpt.conf");
        await File.WriteAllTextAsync(hocon, "actorckpt.retention.keep-last = 5\nakka.loglevel = WARNING\n");
        using var host = Build(new Dictionary<string, string?>
        {
            ["ActorCkpt:Root"] = Root,
            ["ActorCkpt:HoconFile"] = hocon,
            // Overrides the file: only the newest step is kept.
            ["ActorCkpt:Settings:retention.keep-last"] = "1",
        });
        var ckpt = host.Services.GetRequiredService<ICheckpointer>();
        // A call before the start waits for it.
        var latest = ckpt.GetLatestStepAsync();
        Assert.False(latest.IsCompleted);

        await host.StartAsync();
        Assert.Null(await latest);
        using var weights = torch.arange(12, dtype: torch.float32).reshape(3, 4);
        var progress = new JsonState<TrainingProgress>("trainer.progress", new TrainingProgress(2, 64, 1e6), ObjectScope.Global);
        await ckpt.SaveAsync(1, 0, 1, new IStateful[] { progress });
        // Not awaited: stopping the host must see this save through.
        var last = ckpt.SaveAsync(2, new RankState(0, 1).AddReplicated("w", weights));
        await host.StopAsync();
        Assert.True(last.IsCompletedSuccessfully);

        await using var reopened = Checkpointer.Start(Root, "akka.loglevel = WARNING");
        var catalog = await reopened.ReadCatalogAsync();
        Assert.Equal(CheckpointStatus.Deleted, catalog.Single(e => e.Step == 1).Status);
        Assert.Equal(CheckpointStatus.Committed, catalog.Single(e => e.Step == 2).Status);
        using var loaded = torch.zeros(3, 4);
        await reopened.LoadAsync(new RankState(0, 1).AddReplicated("w", loaded), 2);
        Assert.Equal(weights.data<float>().ToArray(), loaded.data<float>().ToArray());
    }

    [Fact]
    public async Task A_host_without_a_directory_or_with_a_bad_setting_fails_to_start_naming_it()
    {
        using var noDirectory = Build(new Dictionary<string, string?>());
        var waiting = noDirectory.Services.GetRequiredService<ICheckpointer>().GetLatestStepAsync();
        var e = await Assert.ThrowsAsync<ArgumentException>(() => noDirectory.StartAsync());
        Assert.Contains("ActorCkpt:Root", e.Message);
        // A call made before the start fails with the start's error.
        Assert.Same(e, await Assert.ThrowsAsync<ArgumentException>(() => waiting));

        using var badSetting = Build(new Dictionary<string, string?> { ["ActorCkpt:Root"] = Root, ["ActorCkpt:Settings:retention keep"] = "1" });
        var bad = await Assert.ThrowsAsync<ArgumentException>(() => badSetting.StartAsync());
        Assert.Contains("'retention keep'", bad.Message);

        using var noFile = Build(new Dictionary<string, string?> { ["ActorCkpt:Root"] = Root, ["ActorCkpt:HoconFile"] = "/nonexistent/a.conf" });
        var missing = await Assert.ThrowsAsync<FileNotFoundException>(() => noFile.StartAsync());
        Assert.Contains("/nonexistent/a.conf", missing.Message);
    }

    [Fact]
    public void A_host_that_runs_its_own_ActorSystem_is_told_to_use_WithActorCkpt_instead_of_losing_its_system()
    {
        var services = new ServiceCollection();
        Akka.Hosting.AkkaHostingExtensions.AddAkka(services, "app", (_, _) => { });

        var e = Assert.Throws<InvalidOperationException>(() => services.AddActorCkpt(configure: o => o.Root = Root));
        Assert.Equal("this host already runs an ActorSystem (AddAkka): add ActorCkpt to it with WithActorCkpt inside that AddAkka, and AddActorCkptCheckpointer()", e.Message);
    }

    [Fact]
    public void AddActorCkpt_called_twice_is_told_so_not_told_to_use_an_AddAkka_it_never_called()
    {
        var services = new ServiceCollection();
        services.AddActorCkpt(configure: o => o.Root = Root);

        var e = Assert.Throws<InvalidOperationException>(() => services.AddActorCkpt(configure: o => o.Root = Root));
        Assert.Equal("AddActorCkpt was called already for this host: a host runs one ActorCkpt; set all its options in that one call", e.Message);
    }

    private static IHost Build(Dictionary<string, string?> settings)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddActorCkpt(builder.Configuration.GetSection("ActorCkpt"));
        return builder.Build();
    }
}
