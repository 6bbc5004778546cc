using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using TorchSharp;

namespace ActorCkpt.Hosting.Tests;

/// <summary>
/// The host's <see cref="ICheckpointer"/> with the memory tier on: a step held in memory only is the
/// newest step it reports, as the checkpointer itself does, so a training loop resumes from it.
/// </summary>
public sealed class HostedMemoryTierSpec(ITestOutputHelper output) : Akka.Hosting.TestKit.TestKit(nameof(HostedMemoryTierSpec), output)
{
    private readonly TempDirectory _temp = new();
    private readonly string _shm = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), "actorckpt-hosted-" + Guid.NewGuid().ToString("N"));

    private string Root => Path.Combine(_temp.Path, "ckpt");

    protected override void ConfigureServices(HostBuilderContext context, IServiceCollection services) => services.AddActorCkptCheckpointer();

    protected override void ConfigureAkka(AkkaConfigurationBuilder builder, IServiceProvider provider) =>
        builder.WithActorCkpt(o =>
        {
            o.Root = Root;
            o.Settings["tiers.memory.enabled"] = "on";
            o.Settings["tiers.memory.replicas"] = "1";
            o.Settings["tiers.memory.directory"] = _shm;
            o.Settings["tiers.memory.host"] = "h0";
            o.Settings["tiers.disk.every"] = "0";
        });

    [Fact]
    public async Task The_newest_step_should_be_one_held_in_memory_only()
    {
        var ct = TestContext.Current.CancellationToken;
        var ckpt = Host.Services.GetRequiredService<ICheckpointer>();
        using var weights = torch.arange(12, dtype: torch.float32).reshape(3, 4);
        // The holder announces itself as the node starts; a memory save waits for it.
        var saved = await ckpt.SaveAsync(1, new RankState(0, 1).AddReplicated("w", weights), ct);
        Assert.Equal(1, saved.Step);
        Assert.False(File.Exists(Path.Combine(Root, CheckpointLayout.InStep(1, CheckpointLayout.MetadataFile))));

        Assert.Equal(1, await ckpt.GetLatestStepAsync(ct));
        Assert.Equal(await (await ((DeferredCheckpointer)ckpt).Ready).GetLatestStepAsync(ct), await ckpt.GetLatestStepAsync(ct));
    }

    protected override async Task AfterAllAsync()
    {
        await base.AfterAllAsync();
        _temp.Dispose();
        if (Directory.Exists(_shm)) Directory.Delete(_shm, recursive: true);
    }
}
