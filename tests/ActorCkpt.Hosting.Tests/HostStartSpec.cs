using Akka.Actor;
using Akka.Event;
using LogLevel = Microsoft.Extensions.Logging.LogLevel;
using Akka.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ActorCkpt.SharedTests;
using TorchSharp;

namespace ActorCkpt.Hosting.Tests;

/// <summary>
/// A generic host with its own ActorSystem (AddAkka + WithActorCkpt): the training code's
/// <see cref="ICheckpointer"/> may be called before the system is up, a failed start fails the
/// calls waiting, and Akka's log reaches the host's ILogger.
/// </summary>
public sealed class HostStartSpec : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string Root => Path.Combine(_temp.Path, "ckpt");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A training loop that saves as soon as the host starts it, before Akka's hosted service has run.</summary>
    private sealed class EagerTrainer(ICheckpointer ckpt) : BackgroundService
    {
        public TaskCompletionSource<bool> CalledBeforeReady { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource<SaveResult> Saved { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            CalledBeforeReady.SetResult(!((DeferredCheckpointer)ckpt).Ready.IsCompleted);
            using var w = torch.ones(4);
            try
            {
                Saved.SetResult(await ckpt.SaveAsync(7, new RankState(0, 1).AddReplicated("w", w), stoppingToken));
            }
            catch (Exception e)
            {
                Saved.SetException(e);
            }
        }
    }

    [Fact]
    public async Task A_background_service_that_saves_before_the_ActorSystem_is_up_waits_for_it()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddActorCkptCheckpointer();
        // Registered before AddAkka: the host starts it first, so its save comes before the system exists.
        builder.Services.AddSingleton<EagerTrainer>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<EagerTrainer>());
        builder.Services.AddAkka("train", (akka, _) => akka.WithActorCkpt(o => o.Root = Root));
        using var host = builder.Build();
        var trainer = host.Services.GetRequiredService<EagerTrainer>();

        await host.StartAsync(Ct);
        Assert.True(await trainer.CalledBeforeReady.Task);
        Assert.Equal(7, (await trainer.Saved.Task.WaitAsync(TimeSpan.FromMinutes(1), Ct)).Step);
        await host.StopAsync(Ct);
    }

    [Fact]
    public async Task A_call_before_start_waits_bounded_by_its_token_and_goes_on_once_the_system_is_up()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddActorCkptCheckpointer();
        builder.Services.AddAkka("train", (akka, _) => akka.WithActorCkpt(o => o.Root = Root));
        using var host = builder.Build();
        var ckpt = host.Services.GetRequiredService<ICheckpointer>();

        var latest = ckpt.GetLatestStepAsync(Ct);
        using var cancelled = new CancellationTokenSource();
        var abandoned = ckpt.ReadCatalogAsync(cancelled.Token);
        Assert.False(latest.IsCompleted);
        Assert.False(abandoned.IsCompleted);
        cancelled.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        Assert.False(latest.IsCompleted);

        await host.StartAsync(Ct);
        Assert.Null(await latest);
        Assert.Empty(await ckpt.ReadCatalogAsync(Ct));
        await host.StopAsync(Ct);
    }

    [Fact]
    public async Task A_start_that_fails_fails_the_calls_waiting_with_its_error()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddActorCkptCheckpointer();
        builder.Services.AddAkka("train", (akka, _) => akka.WithActorCkpt(o =>
        {
            o.Root = Root;
            o.Settings["writer.pool-size"] = "many";   // read when ActorCkpt starts in the running system
        }));
        using var host = builder.Build();
        var waiting = host.Services.GetRequiredService<ICheckpointer>().GetLatestStepAsync(Ct);

        var startError = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(Ct));
        var callError = await Assert.ThrowsAnyAsync<Exception>(() => waiting.WaitAsync(TimeSpan.FromSeconds(30), Ct));
        Assert.Equal(startError.GetType(), callError.GetType());
        Assert.Equal(startError.Message, callError.Message);
    }

    [Fact]
    public async Task Options_refused_in_the_hosts_own_AddAkka_should_fail_the_calls_waiting_at_once()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddActorCkptCheckpointer();
        builder.Services.AddAkka("train", (akka, _) => akka.WithActorCkpt(_ => { }));   // no Root
        using var host = builder.Build();
        using var patience = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        patience.CancelAfter(TimeSpan.FromMinutes(2));
        var waiting = host.Services.GetRequiredService<ICheckpointer>().GetLatestStepAsync(patience.Token);

        var startError = await Assert.ThrowsAsync<ArgumentException>(() => host.StartAsync(Ct));
        Assert.StartsWith("ActorCkptOptions.Root is not set", startError.Message);
        // Before, the call waited for its token (here two minutes), then said only that it was cancelled.
        var callError = await Assert.ThrowsAsync<ArgumentException>(() => waiting);
        Assert.Equal(startError.Message, callError.Message);
    }

    [Theory]
    [InlineData("Catalog:Provider", "Postgres", "ActorCkpt:Catalog:Provider = 'Postgres': accepted values are Sqlite, PostgreSql")]
    [InlineData("Catalog:Provider", "7", "ActorCkpt:Catalog:Provider = '7': accepted values are Sqlite, PostgreSql")]
    [InlineData("MemoryTier:Replicas", "two", "ActorCkpt:MemoryTier:Replicas = 'two': expected an integer from -2147483648 to 2147483647")]
    [InlineData("MemoryTier:Enabled", "yes", "ActorCkpt:MemoryTier:Enabled = 'yes': expected true or false")]
    [InlineData("FinishSavesTimeout", "30s", "ActorCkpt:FinishSavesTimeout = '30s': expected a duration such as 00:00:30 (hours:minutes:seconds)")]
    [InlineData("Rooot", "/elsewhere", "ActorCkpt:Rooot is not an option of ActorCkptOptions; did you mean Root?")]
    [InlineData("MemoryTier:Enabld", "true", "ActorCkpt:MemoryTier:Enabld is not an option of MemoryTierOptions; did you mean Enabled?")]
    [InlineData("finishsavestimout", "00:01:00", "ActorCkpt:finishsavestimout is not an option of ActorCkptOptions; did you mean FinishSavesTimeout?")]
    // Before, an object where one value goes was passed over (the option unset, "Root is not set" for Root), and
    // a value where Settings go was "expected a Dictionary`2 value".
    [InlineData("HoconFile:path", "/etc/ckpt.conf", "ActorCkpt:HoconFile has keys of its own (path, …): expected one value (text)")]
    [InlineData("MemoryTier:Replicas:count", "2", "ActorCkpt:MemoryTier:Replicas has keys of its own (count, …): expected an integer from -2147483648 to 2147483647")]
    [InlineData("Settings", "x", "ActorCkpt:Settings = 'x': expected an object of settings by name, such as { \"writer.pool-size\": \"8\" } or { \"writer\": { \"pool-size\": \"8\" } }")]
    public async Task A_bound_value_of_the_wrong_form_should_fail_the_start_naming_it_and_what_is_accepted(string key, string value, string expected)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["ActorCkpt:Root"] = Root, ["ActorCkpt:" + key] = value });
        builder.Services.AddActorCkpt(builder.Configuration.GetSection("ActorCkpt"));
        using var host = builder.Build();
        var waiting = host.Services.GetRequiredService<ICheckpointer>().GetLatestStepAsync(Ct);

        // Before: the binder's "Failed to convert configuration value 'Postgres' at 'ActorCkpt:Catalog:Provider'
        // to type 'System.Nullable`1[ActorCkpt.Hosting.CatalogProvider]'", naming no accepted value.
        await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(Ct));
        var refused = await Assert.ThrowsAsync<ArgumentException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(30), Ct));
        Assert.Equal(expected, refused.Message);
        Assert.False(Directory.Exists(Root));
    }

    [Theory]
    // Before, the host started; its stop threw an OverflowException from Akka's coordinated shutdown, and disposing it hung.
    [InlineData("FinishSavesTimeout", "ActorCkptOptions.FinishSavesTimeout = 10675199.02:48:05.4775807: give a positive duration of at most 24.20:31:23.6460000 (a host's shutdown does not wait without end)")]
    // Before, "-00:00:00.0010000", not the infinite wait the host asked for.
    [InlineData("FinishSavesTimeout infinite", "ActorCkptOptions.FinishSavesTimeout = Timeout.InfiniteTimeSpan: give a positive duration of at most 24.20:31:23.6460000 (a host's shutdown does not wait without end)")]
    // Before, a NullReferenceException naming nothing.
    [InlineData("Catalog", "ActorCkptOptions.Catalog is null: leave it out for its default, or set it")]
    [InlineData("Settings", "ActorCkptOptions.Settings is null: leave it out for its default, or set it")]
    [InlineData("MemoryTier", "ActorCkptOptions.MemoryTier is null: leave it out for its default, or set it")]
    public async Task An_option_out_of_range_or_null_should_fail_the_start_naming_it(string option, string expected)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddActorCkpt(configure: o =>
        {
            o.Root = Root;
            if (option == "FinishSavesTimeout") o.FinishSavesTimeout = TimeSpan.MaxValue;
            if (option == "FinishSavesTimeout infinite") o.FinishSavesTimeout = Timeout.InfiniteTimeSpan;
            if (option == "Catalog") o.Catalog = null!;
            if (option == "Settings") o.Settings = null!;
            if (option == "MemoryTier") o.MemoryTier = null!;
        });
        using var host = builder.Build();
        var waiting = host.Services.GetRequiredService<ICheckpointer>().GetLatestStepAsync(Ct);

        await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(Ct));
        var refused = await Assert.ThrowsAsync<ArgumentException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(30), Ct));
        Assert.Equal(expected, refused.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Settings_written_as_nested_objects_should_be_taken_as_their_flat_keys(bool hostsOwnAddAkka)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ActorCkpt:Root"] = Root, ["ActorCkpt:Settings:writer:pool-size"] = "many", ["ActorCkpt:Settings:retention.keep-last"] = "2",
        });
        AddActorCkpt(builder, hostsOwnAddAkka);
        using var host = builder.Build();
        var waiting = host.Services.GetRequiredService<ICheckpointer>().GetLatestStepAsync(Ct);

        // Before, the binder passed over the nested object: the host started, the value never seen (and so it did
        // in a host's own AddAkka bound with `o => section.Bind(o)`, before WithActorCkpt took a section).
        await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(Ct));
        var refused = await Assert.ThrowsAnyAsync<Exception>(() => waiting.WaitAsync(TimeSpan.FromSeconds(30), Ct));
        Assert.Contains("writer.pool-size", refused.Message);
        Assert.Contains("'many'", refused.Message);
    }

    /// <summary>ActorCkpt from the <c>ActorCkpt</c> section: in a one-process host, or in the host's own <c>AddAkka</c>.</summary>
    private static void AddActorCkpt(HostApplicationBuilder builder, bool hostsOwnAddAkka)
    {
        var section = builder.Configuration.GetSection("ActorCkpt");
        if (!hostsOwnAddAkka)
        {
            builder.Services.AddActorCkpt(section);
            return;
        }
        builder.Services.AddActorCkptCheckpointer();
        builder.Services.AddAkka("train", (akka, _) => akka.WithActorCkpt(section));
    }

    [Fact]
    public async Task A_misspelt_key_in_a_section_given_to_the_hosts_own_AddAkka_should_fail_the_start_naming_it()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["ActorCkpt:Rooot"] = Root });
        AddActorCkpt(builder, hostsOwnAddAkka: true);
        using var host = builder.Build();
        var waiting = host.Services.GetRequiredService<ICheckpointer>().GetLatestStepAsync(Ct);

        await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(Ct));
        var refused = await Assert.ThrowsAsync<ArgumentException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(30), Ct));
        Assert.Equal("ActorCkpt:Rooot is not an option of ActorCkptOptions; did you mean Root?", refused.Message);
    }

    [Fact]
    public async Task Bound_values_of_every_form_the_binder_takes_should_pass_the_check()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ActorCkpt:Root"] = Root, ["ActorCkpt:Catalog:Provider"] = "sqlite", ["ActorCkpt:MemoryTier:Enabled"] = "False",
            ["ActorCkpt:MemoryTier:Replicas"] = "1", ["ActorCkpt:FinishSavesTimeout"] = "00:00:20", ["ActorCkpt:ObjectTier:UploadTimeout"] = "01:00:00",
            ["ActorCkpt:Settings:retention.keep-last"] = "2", ["ActorCkpt:Settings:writer:pool-size"] = "2", ["ActorCkpt:settings:async:max-in-flight"] = "1",
        });
        builder.Services.AddActorCkpt(builder.Configuration.GetSection("ActorCkpt"));
        using var host = builder.Build();

        await host.StartAsync(Ct);
        Assert.Null(await host.Services.GetRequiredService<ICheckpointer>().GetLatestStepAsync(Ct));
        await host.StopAsync(Ct);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_host_that_starts_without_starting_ActorCkpt_should_fail_the_calls_saying_so(bool replacedByALaterAddAkka)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        if (replacedByALaterAddAkka) builder.Services.AddActorCkpt(configure: o => o.Root = Root);
        else builder.Services.AddActorCkptCheckpointer();
        builder.Services.AddAkka("mine", (_, _) => { });   // no WithActorCkpt
        using var host = builder.Build();
        var waiting = host.Services.GetRequiredService<ICheckpointer>().GetLatestStepAsync();   // no token: before, it waited for ever

        await host.StartAsync(Ct);

        var never = await Assert.ThrowsAsync<InvalidOperationException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(30), Ct));
        Assert.Equal(HostLifetimeWatch.NeverStarted, never.Message);
        await Assert.ThrowsAsync<InvalidOperationException>(() => host.Services.GetRequiredService<ICheckpointer>().SaveAsync(1, new RankState(0, 1), Ct));
        await host.StopAsync(Ct);
    }

    [Fact]
    public async Task A_stopping_host_should_stop_waiting_for_saves_in_flight_when_its_own_shutdown_timeout_runs_out()
    {
        var gate = new WriteGate();
        using var host = await StartGatedHostAsync(gate, TimeSpan.FromSeconds(3));

        // Before: the host's stop waited the whole FinishSavesTimeout, long after its own timeout (a pod is killed then).
        var cut = await SaveCutOff.StopDuringSaveAsync(host, gate, Ct);
        Assert.Equal("save of step 1 failed: the host shut down, and its shutdown timeout (HostOptions.ShutdownTimeout: 3s) ran out before this save ended; " +
                     "it was cut off before its verdict (the catalog tells whether it committed)", cut.Message);
    }

    [Fact]
    public async Task A_host_told_to_stop_at_once_should_stop_waiting_for_saves_in_flight_at_once()
    {
        var gate = new WriteGate();
        using var host = await StartGatedHostAsync(gate, shutdownTimeout: null);

        // A cancelled token: the host's stop is no longer graceful. Before, the stop waited until 2 s
        // before the host's ShutdownTimeout (30 s here) and said that timeout had run out.
        var cut = await SaveCutOff.StopDuringSaveAsync(host, gate, Ct, stop: new CancellationToken(canceled: true));
        Assert.Equal("save of step 1 failed: the host shut down, and the token given to its stop (IHost.StopAsync) was cancelled before this save ended; " +
                     "it was cut off before its verdict (the catalog tells whether it committed)", cut.Message);
    }

    /// <summary>
    /// A started host whose writes <paramref name="gate"/> holds, waiting up to ten minutes for saves at
    /// its stop, with the host's own <paramref name="shutdownTimeout"/> (its default when null).
    /// ActorCkpt's services are added before AddAkka: the host stops Akka's service first.
    /// </summary>
    private async Task<IHost> StartGatedHostAsync(WriteGate gate, TimeSpan? shutdownTimeout)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        if (shutdownTimeout is { } timeout) builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = timeout);
        builder.Services.AddActorCkptCheckpointer();
        builder.Services.AddAkka("train", (akka, _) => akka.WithActorCkpt(o =>
        {
            o.Root = Root;
            o.FinishSavesTimeout = TimeSpan.FromMinutes(10);
            o.WrapStore = inner => new GatedWrites(inner, gate);
        }));
        var host = builder.Build();
        await host.StartAsync(Ct);
        return host;
    }

    [Fact]
    public void The_default_wait_for_saves_at_shutdown_should_fit_in_the_hosts_default_shutdown_timeout()
    {
        // Before: a minute, against the host's 30 s: a stopping host outlived its own timeout, and a pod its grace period.
        var hostTimeout = new HostOptions().ShutdownTimeout;
        Assert.True(new ActorCkptOptions().FinishSavesTimeout < hostTimeout - TimeSpan.FromSeconds(2), $"{new ActorCkptOptions().FinishSavesTimeout} against {hostTimeout}");
    }

    [Fact]
    public async Task A_host_on_a_root_another_checkpointer_holds_fails_at_start_naming_the_lock_and_its_holder()
    {
        await using var holder = Checkpointer.Start(Root);
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddActorCkptCheckpointer();
        builder.Services.AddAkka("train", (akka, _) => akka.WithActorCkpt(o => o.Root = Root));
        using var host = builder.Build();
        var waiting = host.Services.GetRequiredService<ICheckpointer>().GetLatestStepAsync(Ct);

        await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(Ct));
        var refused = await Assert.ThrowsAsync<RootLockedException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(30), Ct));
        Assert.Contains(CheckpointLayout.CatalogLockFile, refused.Message);
        Assert.Equal(Environment.ProcessId, refused.HolderProcessId);
    }

    [Fact]
    public async Task A_host_whose_root_another_checkpointer_takes_while_it_starts_fails_at_start_naming_the_lock()
    {
        IDisposable? taken = null;
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddActorCkptCheckpointer();
        builder.Services.AddAkka("train", (akka, _) => akka.WithActorCkpt(o =>
        {
            o.Root = Root;
            // Called after the start found the root free and before its planner takes the lock: another
            // checkpointer starting on the same root at the same moment takes it then.
            o.WrapStore = inner =>
            {
                taken = CatalogLock.Take(inner);
                return inner;
            };
        }));
        using var host = builder.Build();
        var waiting = host.Services.GetRequiredService<ICheckpointer>().GetLatestStepAsync(Ct);

        // Before, the start succeeded and the first save failed, seconds later, naming the lock.
        await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(Ct));
        var refused = await Assert.ThrowsAsync<ActorCkptException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(30), Ct));
        Assert.Contains($"is held by another checkpointer: '{Path.Combine(Root, CheckpointLayout.CatalogLockFile)}' is locked by pid {Environment.ProcessId}", refused.Message);
        taken!.Dispose();
    }

    /// <summary>A started host with its own ActorSystem (AddAkka + WithActorCkpt), logging to <paramref name="captured"/>.</summary>
    private async Task<IHost> StartHostAsync(CapturingLoggerProvider captured)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Logging.AddProvider(captured);
        builder.Services.AddActorCkptCheckpointer();
        builder.Services.AddAkka("train", (akka, _) => akka.WithActorCkpt(o => o.Root = Root));
        var host = builder.Build();
        await host.StartAsync(Ct);
        return host;
    }

    [Fact]
    public async Task Akkas_log_goes_to_the_hosts_ILogger()
    {
        var captured = new CapturingLoggerProvider();
        using var host = await StartHostAsync(captured);

        // ActorCkpt's own line, logged through Akka's logging.
        var started = await captured.WaitFor(l => l.Message.Contains("ActorCkpt started over")).WaitAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.Equal(LogLevel.Information, started.Level);
        Assert.Contains(Path.GetFullPath(Root), started.Message);
        // And any line of the host's ActorSystem.
        host.Services.GetRequiredService<ActorSystem>().Log.Warning("a warning from the host's ActorSystem {0}", 42);
        var warning = await captured.WaitFor(l => l.Message.Contains("a warning from the host's ActorSystem 42")).WaitAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.Equal(LogLevel.Warning, warning.Level);
        await host.StopAsync(Ct);
    }

    [Fact]
    public async Task A_save_still_in_flight_when_the_shutdown_stops_waiting_should_fail_saying_so()
    {
        var captured = new CapturingLoggerProvider();
        var gate = new WriteGate();
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Logging.AddProvider(captured);
        builder.Services.AddActorCkptCheckpointer();
        builder.Services.AddAkka("train", (akka, _) => akka.WithActorCkpt(o =>
        {
            o.Root = Root;
            o.FinishSavesTimeout = TimeSpan.FromMilliseconds(300);
            o.WrapStore = inner => new GatedWrites(inner, gate); // a disk too slow for the shutdown to wait out (not a fault store: nothing stops it at the shutdown)
        }));
        using var host = builder.Build();
        await host.StartAsync(Ct);

        // Before: "the shard actor of rank 0 stopped", which said nothing of the shutdown.
        Assert.Equal(SaveCutOff.Message, (await SaveCutOff.StopDuringSaveAsync(host, gate, Ct)).Message);
        // And the host's log says so while the host stops (the save's own failure comes at the system's termination).
        Assert.Contains(captured.Lines, l => l.Level == LogLevel.Warning && l.Message ==
            "ActorCkpt: 1 saves still in flight are cut off (step 1 on rank 0): the host shut down, and its wait for saves in flight " +
            "(ActorCkptOptions.FinishSavesTimeout, the before-service-unbind phase's timeout: 0.3s) ran out before this save ended");
    }

    [Fact]
    public async Task The_shutdown_reports_only_the_saves_still_in_flight()
    {
        var captured = new CapturingLoggerProvider();
        using var host = await StartHostAsync(captured);
        var ckpt = host.Services.GetRequiredService<ICheckpointer>();
        using var w = torch.ones(4);
        // A save its caller cancelled, and heard end so, long before the host stops.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ckpt.SaveAsync(1, new RankState(0, 1).AddReplicated("w", w), new CancellationToken(canceled: true)));
        await ckpt.SaveAsync(1, new RankState(0, 1).AddReplicated("w", w), Ct);

        await host.StopAsync(Ct);
        // Logged to the host's logger before the stop returns (see the next test).
        Assert.Contains(captured.Lines, l => l.Message == "ActorCkpt: 0 saves in flight at shutdown ended, 0 committed");
        // Before, every save of the run that had not committed was warned of at shutdown, as if lost then.
        Assert.DoesNotContain(captured.Lines, l => l.Message.Contains("the save of step 1"));
    }

    [Fact]
    public async Task The_shutdown_report_should_reach_the_hosts_logger_before_the_stop_returns_whatever_Akkas_loggers()
    {
        var captured = new CapturingLoggerProvider();
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Logging.AddProvider(captured);
        builder.Services.AddActorCkptCheckpointer();
        // Akka's own log goes to standard output only: none of it reaches the host's loggers.
        builder.Services.AddAkka("train", (akka, _) => akka
            .ConfigureLoggers(l => { l.ClearLoggers(); l.AddLogger<DefaultLogger>(); })
            .WithActorCkpt(o => o.Root = Root));
        using var host = builder.Build();
        await host.StartAsync(Ct);
        var ckpt = host.Services.GetRequiredService<ICheckpointer>();
        using var w = torch.ones(4);
        var handle = await ckpt.StartSaveAsync(1, new RankState(0, 1).AddReplicated("w", w), Ct);

        await host.StopAsync(Ct);
        var lines = captured.Lines;
        await handle.Committed.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        // Before, these lines went through Akka's logger actors, which a terminating system may stop
        // before they pass them on (akka.net #615, #4045): the report of which saves a shutdown cut off was lost then.
        var report = Assert.Single(lines, l => l.Message.Contains("saves in flight at shutdown ended"));
        Assert.Equal(LogLevel.Information, report.Level);
        // The save committed before the shutdown began, or during its wait.
        Assert.Matches(@"^ActorCkpt: (0 saves in flight at shutdown ended, 0|1 saves in flight at shutdown ended, 1) committed$", report.Message);
    }
}
