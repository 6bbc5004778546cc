using ActorCkpt.Hosting;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ActorCkpt.TestKit.Tests;

/// <summary>The hook for a host built with Akka.Hosting: <c>WithActorCkpt(o => o.UseStorageFaults(faults))</c>.</summary>
public sealed class UseStorageFaultsSpec : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly TempRoot _root = new();

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task A_host_built_with_WithActorCkpt_should_write_through_the_faults_and_its_retried_save_load_bit_exact()
    {
        var faults = new StorageFaults();
        var first = faults.FailWrite(1);
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddAkka("kit-hosting", (akka, _) => akka.WithActorCkpt(o =>
        {
            o.UseStorageFaults(faults).Root = _root.Path;
            o.Settings["writer.backoff-min"] = "5ms";
        }));
        builder.Services.AddActorCkptCheckpointer();
        using var host = builder.Build();
        await host.StartAsync().WaitAsync(Deadline);
        try
        {
            var ckpt = host.Services.GetRequiredService<ICheckpointer>();
            await ckpt.SaveAsync(1, States.Build(0, 1, seed: 5)).WaitAsync(Deadline);

            Assert.True(first.Fired.IsCompletedSuccessfully);
            Assert.Equal(CheckpointReader.Open(_root.Path).ReadMetadata(1).Files.Count + 1, first.WritesSeen);
            var target = States.Empty(0, 1);
            await ckpt.LoadAsync(target, 1).WaitAsync(Deadline);
            Assert.Empty(States.Differences(target, seed: 5));
        }
        finally
        {
            await host.StopAsync().WaitAsync(Deadline);
        }
    }

    [Fact]
    public async Task Once_the_hosts_shutdown_has_begun_a_new_save_is_refused_and_the_save_in_flight_commits()
    {
        var faults = new StorageFaults();
        var held = faults.BlockWrite(1);
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddAkka("kit-shutdown", (akka, _) => akka.WithActorCkpt(o => o.UseStorageFaults(faults).Root = _root.Path));
        builder.Services.AddActorCkptCheckpointer();
        using var host = builder.Build();
        await host.StartAsync().WaitAsync(Deadline);
        var ckpt = host.Services.GetRequiredService<ICheckpointer>();
        var inFlight = ckpt.SaveAsync(1, States.Build(0, 1, seed: 5));
        await held.Entered.WaitAsync(Deadline);

        // The shutdown's first phase waits for the save in flight (its write held); its reason is set before Run returns.
        var shutdown = CoordinatedShutdown.Get(host.Services.GetRequiredService<ActorSystem>()).Run(CoordinatedShutdown.ClrExitReason.Instance);
        var refused = await Assert.ThrowsAsync<ActorCkptException>(() => ckpt.SaveAsync(2, States.Build(0, 1, seed: 6)).WaitAsync(Deadline));
        Assert.Equal("the actor system 'kit-shutdown' is shutting down: the save of step 2 was not started", refused.Message);

        held.Release();
        await inFlight.WaitAsync(Deadline);
        await shutdown.WaitAsync(Deadline);
        await host.StopAsync().WaitAsync(Deadline);
        var reader = CheckpointReader.Open(_root.Path);
        Assert.Equal(1, reader.LatestStep);
        Assert.False(Directory.Exists(Path.Combine(_root.Path, CheckpointLayout.StepDirectory(2))));
    }

    [Fact]
    public async Task A_host_with_the_test_hocon_terminated_with_a_write_held_should_stop_and_nothing_land_after_it()
    {
        var faults = new StorageFaults();
        var held = faults.BlockWrite(1);
        var builder = Host.CreateApplicationBuilder();
        // TestHocon skips the coordinated shutdown on Terminate (a crash), as the docs suggest for a test host.
        builder.Services.AddAkka("kit-terminate", (akka, _) => akka
            .AddHocon(ActorCkptTestCluster.TestHocon, HoconAddMode.Prepend)
            .WithActorCkpt(o => o.UseStorageFaults(faults).Root = _root.Path));
        builder.Services.AddActorCkptCheckpointer();
        using var host = builder.Build();
        await host.StartAsync().WaitAsync(Deadline);
        var ckpt = host.Services.GetRequiredService<ICheckpointer>();
        var save = ckpt.SaveAsync(1, States.Build(0, 1, seed: 5));
        var path = await held.Entered.WaitAsync(Deadline);

        // Before: the termination waited for the held write, and the file landed once the test let it go.
        await host.Services.GetRequiredService<ActorSystem>().Terminate().WaitAsync(Deadline);
        held.Release();

        await Assert.ThrowsAnyAsync<Exception>(() => save.WaitAsync(Deadline));
        Assert.False(File.Exists(Path.Combine(_root.Path, path)), $"'{path}' landed after its node stopped");
        await host.StopAsync().WaitAsync(Deadline);
    }
}
