using System.Diagnostics;
using System.Text.Json;
using ActorCkpt.Io.Tests;

namespace ActorCkpt.Cli.Tests;

/// <summary>
/// The tool on object-store roots, against Azurite and s3rver (each theory on both): the demo saves
/// from 4 ranks and loads on 3 bit-exact (resharding), and ls, inspect, verify, export and gc work
/// on the same root; a missing container is one line unless --create; a process killed mid-upload
/// leaves nothing that looks committed, and gc removes what it left.
/// </summary>
[Collection(ObjectEmulatorCollection.Name)]
public class ObjectStoreCliSpec(ObjectEmulators emulators) : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    /// <summary>A config file reaching <paramref name="service"/>'s emulator, with the root's local state in this test's directory.</summary>
    private string Config(string service, string extra = "", bool stateDirectory = true)
    {
        Directory.CreateDirectory(_temp.Path);
        var file = Path.Combine(_temp.Path, $"{service}-{Guid.NewGuid():N}.conf");
        File.WriteAllText(file, emulators.Hocon(service)
            + (stateDirectory ? $"actorckpt.object-store.state-directory = {JsonSerializer.Serialize(Path.Combine(_temp.Path, "state"))}\n" : "")
            + "actorckpt.object-store.part-size = 5MiB\nakka.loglevel = WARNING\n" + extra);
        return file;
    }

    /// <summary>
    /// Runs `train` for <paramref name="steps"/> steps, a checkpoint every 2, into a local root named
    /// <paramref name="name"/> with an object tier on <paramref name="service"/> taking every
    /// <paramref name="tierEvery"/>-th; the root, the tier and the config.
    /// </summary>
    private async Task<(string Dir, string Tier, string Config)> TrainWithTierAsync(string service, string name, int steps, int tierEvery)
    {
        var dir = Path.Combine(_temp.Path, name);
        var tier = $"{service}://{ObjectEmulators.NewContainer()}/tier";
        var config = Config(service, $"actorckpt.object-store.create-missing = on\nactorckpt.tiers.object {{ root = {JsonSerializer.Serialize(tier)}, every = {tierEvery} }}\n");
        var train = await ToolRun.RunAsync(TimeSpan.FromMinutes(3), "train", "--dir", dir, "--steps", steps.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--ckpt-every", "2", "--config", config);
        Assert.True(train.Exit == 0, train.Out + train.Err);
        return (dir, tier, config);
    }

    [Fact]
    public async Task Train_with_an_object_tier_should_upload_every_second_checkpoint_before_it_exits_and_ls_should_show_both_tiers()
    {
        var (dir, tier, config) = await TrainWithTierAsync("s3", "ckpt", steps: 8, tierEvery: 4);

        var ls = await ToolRun.RunAsync(TimeSpan.FromMinutes(1), "ls", dir, "--config", config, "--json");
        Assert.True(ls.Exit == 0, ls.Out + ls.Err);
        var steps = JsonDocument.Parse(ls.Out.TrimEnd().Split('\n')[^1]).RootElement.GetProperty("checkpoints").EnumerateArray()
            .ToDictionary(c => c.GetProperty("step").GetInt64());
        Assert.Equal(new long[] { 2, 4, 6, 8 }, steps.Keys.Order());
        foreach (var (step, tiers) in new[] { (2L, "disk"), (4L, "disk,object"), (6L, "disk"), (8L, "disk,object") })
        {
            Assert.Equal(tiers, string.Join(",", steps[step].GetProperty("tiers").EnumerateArray().Select(t => t.GetString())));
            Assert.Equal(tiers.Contains("object") ? tier : null, steps[step].GetProperty("uploaded").GetString());
        }
        Assert.Contains($"step 8: committed [disk, object], ", ls.Out);

        // The tier reads on its own, from the objects alone (it has no catalog of its own).
        var verify = await ToolRun.RunAsync(TimeSpan.FromMinutes(1), "verify", tier, "--config", config);
        Assert.True(verify.Exit == 0, verify.Out + verify.Err);
        Assert.Contains("step 8", verify.Out);
    }

    [Fact]
    public async Task A_catalog_rebuild_or_ls_of_an_object_tier_should_name_the_root_it_belongs_to_and_change_nothing()
    {
        var (dir, tier, config) = await TrainWithTierAsync("s3", "owner", steps: 2, tierEvery: 1);
        var owner = File.ReadAllText(Path.Combine(dir, CheckpointLayout.RootIdFile)).Trim();
        var named = $"actorckpt: '{tier}' is the object tier of another checkpoint root (its tier-of.id names the root with id {owner}): "
            + "it has no catalog of its own; list and tidy its steps through that root (verify, inspect, export and unshard read them here)" + Environment.NewLine;

        // Before, the rebuild made the tier a root of its own, whose catalog.id then had the owner's uploads refused.
        foreach (var args in new[] { new[] { "catalog", "rebuild", tier }, ["ls", tier], ["gc", tier] })
        {
            var run = await ToolRun.RunAsync(TimeSpan.FromMinutes(1), [.. args, "--config", config]);
            Assert.Equal((args[0], 1, named), (args[0], run.Exit, run.Err));
        }
        var blobs = BlobStores.Open(tier, emulators.Options("s3") with { StateDirectory = Path.Combine(_temp.Path, "state") });
        Assert.False(blobs.Exists(CheckpointLayout.RootIdFile));
        Assert.Equal([2L], new CheckpointStore(blobs).CommittedSteps());
        var verify = await ToolRun.RunAsync(TimeSpan.FromMinutes(1), "verify", tier, "--config", config);
        Assert.True(verify.Exit == 0, verify.Out + verify.Err);
    }

    [Fact]
    public async Task A_demo_over_a_root_that_lost_its_disk_should_go_on_from_the_object_tiers_newest_step()
    {
        var (dir, _, config) = await TrainWithTierAsync("az", "lost", steps: 4, tierEvery: 1);
        Directory.Delete(dir, recursive: true);

        // Before, the demo numbered its save from the disk's newest (none): it saved step 1, which the
        // tier refused (it holds step 4's run), or failed as "already committed in the object tier".
        var demo = await ToolRun.RunAsync(TimeSpan.FromMinutes(3), "demo", "--dir", dir, "--config", config, "--size-mb", "1", "--tensors", "2");
        Assert.True(demo.Exit == 0, demo.Out + demo.Err);
        Assert.Contains("saved step 5: ", demo.Out);
        Assert.DoesNotContain("was not uploaded", demo.Err);
    }

    [Fact]
    public async Task With_no_state_directory_configured_the_catalog_should_live_in_the_users_data_directory_one_per_root()
    {
        var root = $"s3://{ObjectEmulators.NewContainer()}/job";
        var state = ObjectRootState.DefaultDirectory(ObjectRoot.Parse(root));
        try
        {
            var config = Config("s3", stateDirectory: false);
            var demo = await ToolRun.RunAsync(TimeSpan.FromMinutes(2), "demo", "--dir", root, "--create", "--config", config, "--size-mb", "1", "--tensors", "4");
            Assert.True(demo.Exit == 0, demo.Out + demo.Err);
            Assert.StartsWith(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "actorckpt", "roots", "s3-"), state);
            Assert.True(File.Exists(Path.Combine(state, CheckpointLayout.CatalogFile)));
            var ls = await ToolRun.RunAsync("ls", root, "--config", config, "--json");
            Assert.Single(LastJson(ls.Out).GetProperty("checkpoints").EnumerateArray());
        }
        finally
        {
            if (Directory.Exists(state)) Directory.Delete(state, recursive: true);
        }
    }

    [Fact]
    public async Task Read_only_commands_should_leave_nothing_in_the_local_state_directory_of_an_object_store_root()
    {
        var root = $"s3://{ObjectEmulators.NewContainer()}/job";
        var demo = await ToolRun.RunAsync(TimeSpan.FromMinutes(2), "demo", "--dir", root, "--create", "--config", Config("s3"), "--size-mb", "1", "--tensors", "4");
        Assert.True(demo.Exit == 0, demo.Out + demo.Err);

        // Another machine's reader: no state of this root there. Before, each command made the
        // state directory and its staging folder (and the user's data directory) as it opened the store.
        var readerState = Path.Combine(_temp.Path, "reader", "state");
        var reader = Config("s3", $"actorckpt.object-store.state-directory = {JsonSerializer.Serialize(readerState)}\n");
        foreach (var command in new[] { new[] { "verify", root }, ["inspect", root], ["export", root, "--out", Path.Combine(_temp.Path, "hf")] })
        {
            var run = await ToolRun.RunAsync(TimeSpan.FromMinutes(1), [.. command, "--config", reader]);
            Assert.True(run.Exit == 0, command[0] + ": " + run.Out + run.Err);
            Assert.False(Directory.Exists(Path.Combine(_temp.Path, "reader")), command[0] + " made the local state directory");
        }
    }

    [Fact]
    public async Task A_clustered_node_should_journal_an_object_store_root_whose_state_directory_is_not_made_yet()
    {
        var root = $"s3://{ObjectEmulators.NewContainer()}/job";
        var state = Path.Combine(_temp.Path, "fresh", "state");
        var port = LoopbackPort.Free();
        var cluster = new CheckpointClusterOptions { Host = "127.0.0.1", Port = port };
        cluster.SeedNodes.Add($"127.0.0.1:{port}");

        // A new machine's planner node: no state directory yet. A reader makes none, so the node must.
        await using (var ckpt = await Checkpointer.StartAsync(new CheckpointerOptions
                     {
                         Root = root, Cluster = cluster,
                         Hocon = emulators.Hocon("s3") + $"actorckpt.object-store {{ create-missing = on, state-directory = {JsonSerializer.Serialize(state)} }}\nakka.loglevel = WARNING\n",
                     }).WaitAsync(TimeSpan.FromMinutes(2)))
        {
            using var w = TorchSharp.torch.arange(6, dtype: TorchSharp.torch.float32);
            await ckpt.SaveAsync(1, new RankState(0, 1).AddReplicated("w", w)).WaitAsync(TimeSpan.FromMinutes(2));
        }
        Assert.True(File.Exists(Path.Combine(state, CheckpointLayout.CatalogFile)));
        var verify = await ToolRun.RunAsync("verify", root, "--config", Config("s3"));
        Assert.True(verify.Exit == 0, verify.Out + verify.Err);
        Assert.Contains("step 1", verify.Out);
    }

    private static JsonElement LastJson(string output) => JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]).RootElement;

    [Fact]
    public async Task A_root_inside_another_roots_step_should_be_refused_and_export_to_a_uri_too()
    {
        var container = ObjectEmulators.NewContainer();
        var outer = $"s3://{container}/run-1";
        var config = Config("s3");
        Assert.Equal(0, (await ToolRun.RunAsync(TimeSpan.FromMinutes(3), "demo", "--dir", outer, "--create", "--config", config, "--size-mb", "1", "--tensors", "2", "--ranks", "1", "--load-ranks", "1")).Exit);

        // Before: accepted, and the outer root's retention deleted it with its step 1.
        var nested = await ToolRun.RunAsync(TimeSpan.FromMinutes(3), "demo", "--dir", $"{outer}/step-00000001/inner", "--config", config, "--size-mb", "1", "--tensors", "2");
        Assert.Equal((1, $"actorckpt: 's3://{container}/run-1/step-00000001/inner' lies inside step directory 'step-00000001' of the checkpoint root 's3://{container}/run-1': give a root of its own, outside another root's steps\n"),
            (nested.Exit, nested.Err));

        // Before: a local folder named "s3:" received the export.
        var export = await ToolRun.RunAsync("export", outer, "--out", $"s3://{container}/exported", "--config", config);
        Assert.Equal((1, $"actorckpt: --out 's3://{container}/exported' is a URI; export writes a local folder: give its path\n"), (export.Exit, export.Err));
        Assert.False(Directory.Exists("s3:"));
    }

    [Theory]
    [InlineData("az")]
    [InlineData("s3")]
    public async Task Every_command_should_work_on_an_object_store_root(string service)
    {
        var root = $"{service}://{ObjectEmulators.NewContainer()}/job-1";
        var config = Config(service);

        var demo = await ToolRun.RunAsync(TimeSpan.FromMinutes(3), "demo", "--dir", root, "--create", "--config", config,
            "--ranks", "4", "--load-ranks", "3", "--size-mb", "12", "--tensors", "8", "--steps", "2", "--json");
        Assert.True(demo.Exit == 0, demo.Out + demo.Err);
        Assert.True(LastJson(demo.Out).GetProperty("bit_exact").GetBoolean());

        // Another rank count, in a run that only loads.
        var check = await ToolRun.RunAsync(TimeSpan.FromMinutes(3), "demo", "--dir", root, "--check", "--config", config,
            "--load-ranks", "2", "--size-mb", "12", "--tensors", "8", "--json");
        Assert.True(check.Exit == 0, check.Out + check.Err);
        Assert.True(LastJson(check.Out).GetProperty("bit_exact").GetBoolean());

        // The root spelled with slashes to spare is the same root, and named as it resolves.
        var ls = await ToolRun.RunAsync("ls", root.Replace("/job-1", "//job-1/"), "--config", config, "--json");
        Assert.True(ls.Exit == 0, ls.Out + ls.Err);
        Assert.Equal(new[] { "committed", "committed" }, LastJson(ls.Out).GetProperty("checkpoints").EnumerateArray().Select(c => c.GetProperty("status").GetString()));
        Assert.Equal(root, LastJson(ls.Out).GetProperty("root").GetString());

        var inspect = await ToolRun.RunAsync("inspect", root, "--config", config, "--json");
        Assert.True(inspect.Exit == 0, inspect.Out + inspect.Err);
        Assert.Contains("2", inspect.Out);

        var verify = await ToolRun.RunAsync(TimeSpan.FromMinutes(2), "verify", root, "--config", config, "--json");
        Assert.True(verify.Exit == 0, verify.Out + verify.Err);
        Assert.True(LastJson(verify.Out).GetProperty("catalog_checked").GetBoolean());

        var output = Path.Combine(_temp.Path, "export-" + service);
        var export = await ToolRun.RunAsync(TimeSpan.FromMinutes(2), "export", root, "--out", output, "--config", config);
        Assert.True(export.Exit == 0, export.Out + export.Err);
        Assert.True(File.Exists(Path.Combine(output, "model.safetensors.index.json")) || File.Exists(Path.Combine(output, "model.safetensors")));

        var gc = await ToolRun.RunAsync(TimeSpan.FromMinutes(2), "gc", root, "--config", config, "--json");
        Assert.True(gc.Exit == 0, gc.Out + gc.Err);
        Assert.Contains("no unfinished uploads", gc.Out);
    }

    [Theory]
    [InlineData("az")]
    [InlineData("s3")]
    public async Task The_bench_should_report_our_throughput_beside_the_sdks_and_leave_nothing_behind(string service)
    {
        var container = ObjectEmulators.NewContainer();
        var (exit, output, err) = await ToolRun.RunAsync(TimeSpan.FromMinutes(3), "bench", "--dir", $"{service}://{container}/b", "--create", "--config", Config(service),
            "--size-mb", "12", "--tensors", "4", "--runs", "2", "--json");
        Assert.True(exit == 0, output + err);
        var report = LastJson(output);
        foreach (var key in new[] { "save_gbps", "load_gbps", "sdk_upload_gbps", "sdk_download_gbps", "save_over_sdk", "load_over_sdk" })
            Assert.True(report.GetProperty(key).GetDouble() > 0, key);
        Assert.Equal(2, report.GetProperty("runs").GetArrayLength());
        Assert.Equal(0.9, report.GetProperty("targets").GetProperty("save_over_sdk").GetProperty("at_least").GetDouble());
        Assert.True(report.GetProperty("bit_exact").GetBoolean());
        // Its own prefix, removed at the end: nothing of the bench stays in the container.
        var store = BlobStores.Open($"{service}://{container}", emulators.Options(service) with { StateDirectory = Path.Combine(_temp.Path, "state-check") });
        Assert.Empty(store.ListDirectories("b"));
    }

    [Theory]
    [InlineData("az")]
    [InlineData("s3")]
    public async Task A_bench_interrupted_with_ctrl_c_should_remove_its_objects_before_it_exits(string service)
    {
        var container = ObjectEmulators.NewContainer();
        // With the signals' default dispositions (CI runs the tests with SIGINT ignored, which a child inherits).
        var psi = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--default-signal=INT,TERM", "dotnet", typeof(ActorCkptCli).Assembly.Location, "bench", "--dir", $"{service}://{container}/b", "--create",
                     "--config", Config(service), "--size-mb", "8", "--tensors", "4", "--runs", "100" })
            psi.ArgumentList.Add(a);
        var store = BlobStores.Open($"{service}://{container}", emulators.Options(service) with { StateDirectory = Path.Combine(_temp.Path, "state-check"), CreateMissing = true });
        using var bench = Process.Start(psi)!;
        var err = bench.StandardError.ReadToEndAsync();
        var output = bench.StandardOutput.ReadToEndAsync();
        try
        {
            // Interrupted once it has objects in the bucket, long before its 100 runs end.
            var writing = Stopwatch.StartNew();
            while (store.ListDirectories("b").Count == 0)
            {
                if (bench.HasExited) Assert.Fail($"the bench ended before it wrote anything (exit {bench.ExitCode}): " + await err + await output);
                if (writing.Elapsed > TimeSpan.FromMinutes(2)) Assert.Fail("no object of the bench appeared in 2 minutes");
                await Task.Delay(100);
            }
            using (var kill = Process.Start("kill", new[] { "-INT", bench.Id.ToString() })!) await kill.WaitForExitAsync();
            await bench.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));

            Assert.True(bench.ExitCode == 130, $"exit {bench.ExitCode}: {await err}");
            Assert.Contains($"actorckpt: bench interrupted (SIGINT): it stops after what it is doing now and removes its objects under {service}://{container}/b/bench-", await err);
            // Before, Ctrl-C ended the process at once and the run's steps and the SDK's copies stayed in the bucket.
            Assert.Empty(store.ListDirectories("b"));
        }
        finally
        {
            if (!bench.HasExited) bench.Kill(entireProcessTree: true);
        }
    }

    [Theory]
    [InlineData("az", "the container does not exist")]
    [InlineData("s3", "the bucket does not exist")]
    public async Task A_missing_container_should_be_one_line_unless_create_is_given(string service, string said)
    {
        var root = $"{service}://{ObjectEmulators.NewContainer()}";
        var (exit, _, err) = await ToolRun.RunAsync("demo", "--dir", root, "--config", Config(service), "--size-mb", "1", "--tensors", "2");
        Assert.Equal(1, exit);
        Assert.Contains(said, err);
        Assert.Contains("--create", err);
        Assert.Single(err.TrimEnd().Split('\n'));

        var ls = await ToolRun.RunAsync("ls", root, "--config", Config(service));
        Assert.Equal(1, ls.Exit);
        Assert.Contains(said, ls.Err);

        // The bench, which removes its objects even when a run fails, has none to remove here: one line still.
        var bench = await ToolRun.RunAsync("bench", "--dir", root, "--config", Config(service), "--size-mb", "1", "--tensors", "2");
        Assert.Equal(1, bench.Exit);
        Assert.Contains(said, bench.Err);
        Assert.Single(bench.Err.TrimEnd().Split('\n'));
    }

    [Theory]
    [InlineData("az")]
    [InlineData("s3")]
    public async Task A_process_killed_mid_upload_should_leave_nothing_committed_and_gc_should_clean_it(string service)
    {
        var root = $"{service}://{ObjectEmulators.NewContainer()}/job";
        var config = Config(service);
        Assert.Equal(0, (await ToolRun.RunAsync(TimeSpan.FromMinutes(3), "demo", "--dir", root, "--create", "--config", config,
            "--ranks", "2", "--load-ranks", "2", "--size-mb", "2", "--tensors", "4")).Exit);
        // Step 2 dies with its first data file complete: the others are mid-upload, their parts sent, never completed.
        var kill = Config(service, "actorckpt.fault-injection.kill-at { point = file-written, step = 2 }\n");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { typeof(ActorCkptCli).Assembly.Location, "demo", "--dir", root, "--config", kill, "--ranks", "2", "--size-mb", "48", "--tensors", "4", "--layout", "sharded" })
            psi.ArgumentList.Add(a);
        using (var child = Process.Start(psi)!)
        {
            var err = child.StandardError.ReadToEndAsync();
            _ = child.StandardOutput.ReadToEndAsync();
            await child.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
            Assert.True(child.ExitCode == 137, $"expected death by SIGKILL, got {child.ExitCode}: {await err}");
        }

        var options = emulators.Options(service) with { StateDirectory = Path.Combine(_temp.Path, "state") };
        var store = new CheckpointStore(BlobStores.Open(root, options));
        Assert.Equal(new long[] { 1 }, store.CommittedSteps());
        var ls = await ToolRun.RunAsync("ls", root, "--config", config, "--json");
        Assert.DoesNotContain(LastJson(ls.Out).GetProperty("checkpoints").EnumerateArray(), c => c.GetProperty("step").GetInt64() == 2 && c.GetProperty("status").GetString() == "committed");

        var gc = await ToolRun.RunAsync(TimeSpan.FromMinutes(2), "gc", root, "--config", config, "--json");
        Assert.True(gc.Exit == 0, gc.Out + gc.Err);
        var blobs = (ObjectBlobStore)store.Blobs;
        Assert.Empty(blobs.AbandonedUploads());
        Assert.Equal(new[] { CheckpointLayout.StepDirectory(1) }, blobs.ListDirectories("").Where(d => d.StartsWith("step-", StringComparison.Ordinal)));
        Assert.Equal(new long[] { 1 }, store.CommittedSteps());
    }
}
