using System.Text.Json;
using ActorCkpt.Cli;

namespace ActorCkpt.Cli.Tests;

public class MultiProcessSpec : IDisposable
{
    private readonly TempDirectory _temp = new();

    private string Dir => _temp.Path;

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Demo_across_node_processes_should_commit_bytes_written_by_another_process_and_load_bit_exact()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        // Three `actorckpt node` processes (two training nodes, one writer-only), driven from here.
        var exit = ActorCkptCli.Run(new[]
        {
            "demo", "--dir", Dir, "--nodes", "3", "--ranks", "4", "--load-ranks", "3", "--size-mb", "4", "--tensors", "12",
            "--placement", "spread", "--json",
        }, stdout, stderr);

        Assert.True(exit == 0, stdout + "\n" + stderr);
        var report = JsonDocument.Parse(stdout.ToString().TrimEnd().Split('\n')[^1]).RootElement;
        Assert.True(report.GetProperty("bit_exact").GetBoolean());
        // Each node process, asked to stop, left the cluster and exited by itself: none was killed.
        // (Nodes whose bulk channel was first reached inside an actor never saw their actor system's end: TerminationHooks.)
        Assert.Contains("cluster stopped: all 3 node processes left and exited", stdout.ToString());
        var byNode = report.GetProperty("bytes_by_node").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64());
        // Spread placement over every writer: each node process, the writer-only one included, wrote part of it.
        Assert.Equal(3, byNode.Count);
        Assert.All(byNode.Values, bytes => Assert.True(bytes > 0));
        Assert.Equal(report.GetProperty("bytes").GetInt64(), byNode.Values.Sum());
        Assert.Equal(Directory.GetFiles(Path.Combine(Dir, "step-00000001"), "*.safetensors").Sum(f => new FileInfo(f).Length), byNode.Values.Sum());
        Assert.All(byNode.Keys, address => Assert.StartsWith("akka.tcp://actorckpt@127.0.0.1:", address));
    }

    [Fact]
    public void Demo_across_node_processes_should_save_into_dir_as_given_and_its_flags_should_win_over_the_config()
    {
        // A quote and a line break in --dir; a --config naming another root and the other placement.
        var dir = Path.Combine(Dir, "a\"b\nc");
        var other = Path.Combine(Dir, "other");
        var config = Path.Combine(Dir, "node.conf");
        Directory.CreateDirectory(Dir);
        File.WriteAllText(config, $"actorckpt.root = {JsonSerializer.Serialize(other)}\nactorckpt.planner.placement = spread\n");
        var (stdout, stderr) = (new StringWriter(), new StringWriter());

        var exit = ActorCkptCli.Run(new[]
        {
            "demo", "--dir", dir, "--nodes", "2", "--ranks", "1", "--size-mb", "1", "--tensors", "4", "--placement", "local", "--config", config, "--json",
        }, stdout, stderr);

        // Before: the nodes committed into '…/a' plus a key the line break made, the demo then failed to load from --dir.
        Assert.True(exit == 0, stdout + "\n" + stderr);
        var report = JsonDocument.Parse(stdout.ToString().TrimEnd().Split('\n')[^1]).RootElement;
        Assert.True(report.GetProperty("bit_exact").GetBoolean());
        Assert.True(File.Exists(Path.Combine(dir, CheckpointLayout.InStep(1, CheckpointLayout.MetadataFile))));
        Assert.Equal(["a\"b\nc", "node.conf"], Directory.EnumerateFileSystemEntries(Dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        // --placement local, not the config's spread: every byte on the one training node.
        Assert.Single(report.GetProperty("bytes_by_node").EnumerateObject());
        Assert.Equal("local", report.GetProperty("placement").GetString());
    }
}

public class NodeCommandSpec : IDisposable
{
    private readonly TempDirectory _temp = new();

    private string Dir => _temp.Path;

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Demo_across_node_processes_should_go_on_from_the_catalogs_newest_step_not_the_directories()
    {
        string[] Demo(int steps) => ["demo", "--dir", Dir, "--nodes", "2", "--ranks", "1", "--size-mb", "1", "--tensors", "4", "--steps", steps.ToString(), "--json"];
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        Assert.True(ActorCkptCli.Run(Demo(2), stdout, stderr) == 0, stdout + "\n" + stderr);
        File.Delete(Path.Combine(Dir, CheckpointLayout.InStep(2, CheckpointLayout.MetadataFile)));

        (stdout, stderr) = (new StringWriter(), new StringWriter());
        var exit = ActorCkptCli.Run(Demo(1), stdout, stderr);

        // Before: it went on from step 1, the newest directory with metadata, and so saved step 2 again:
        // "step 2 is already committed …; refusing to overwrite it".
        Assert.True(exit == 0, stdout + "\n" + stderr);
        Assert.Contains("saved step 3 from 1 nodes", stdout.ToString());
        Assert.Equal(3, JsonDocument.Parse(stdout.ToString().TrimEnd().Split('\n')[^1]).RootElement.GetProperty("step").GetInt64());
    }

    [Theory]
    [InlineData("TERM")]
    [InlineData("INT")]
    [InlineData("HUP")]
    public async Task A_node_should_come_up_and_leave_gracefully_on_SIGTERM_SIGINT_and_SIGHUP(string signal)
    {
        Directory.CreateDirectory(Dir);
        var config = Path.Combine(Dir, "node.conf");
        await File.WriteAllTextAsync(config, $"actorckpt.root = \"{Dir}\"\n");
        // With the signals' default dispositions: a test run started under nohup, or in the background of a
        // script (as CI runs it), passes SIGHUP and SIGINT on ignored, and an ignored signal stays ignored.
        var psi = new System.Diagnostics.ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--default-signal=HUP,INT,TERM", "dotnet", typeof(ActorCkptCli).Assembly.Location, "node", "--config", config, "--port", "0", "--roles", "writer,planner" })
            psi.ArgumentList.Add(a);
        using var node = System.Diagnostics.Process.Start(psi)!;
        var up = new TaskCompletionSource<string>();
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        node.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lines.Enqueue(e.Data);
            if (e.Data.Contains(" up, roles")) up.TrySetResult(e.Data);
        };
        node.BeginOutputReadLine();
        node.BeginErrorReadLine();

        var started = await up.Task.WaitAsync(TimeSpan.FromSeconds(60));
        using (var kill = System.Diagnostics.Process.Start("kill", new[] { "-" + signal, node.Id.ToString() })!) await kill.WaitForExitAsync();
        await node.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Matches(@"roles \[.*planner.*writer.*\]", started);
        Assert.Equal(0, node.ExitCode);
        Assert.Contains(lines, l => l.Contains(" stopped"));
    }

    [Fact]
    public async Task A_node_whose_seed_never_answers_should_still_stop_on_SIGTERM()
    {
        Directory.CreateDirectory(Dir);
        var config = Path.Combine(Dir, "node.conf");
        await File.WriteAllTextAsync(config, $"actorckpt.root = \"{Dir}\"\n");
        // A port nothing listens on: the seed never answers, and the node keeps trying to join.
        var silent = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        silent.Start();
        var seed = ((System.Net.IPEndPoint)silent.LocalEndpoint).Port;
        silent.Stop();
        var psi = new System.Diagnostics.ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--default-signal=HUP,INT,TERM", "dotnet", typeof(ActorCkptCli).Assembly.Location, "node", "--config", config, "--port", "0",
                     "--roles", "writer", "--seed", $"127.0.0.1:{seed}" })
            psi.ArgumentList.Add(a);
        using var node = System.Diagnostics.Process.Start(psi)!;
        var trying = new TaskCompletionSource();
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        // A node logs to stdout: Akka's warning that the join is being tried again says the node is up and joining.
        node.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lines.Enqueue(e.Data);
            if (e.Data.Contains("Couldn't join seed nodes")) trying.TrySetResult();
        };
        node.BeginOutputReadLine();
        node.BeginErrorReadLine();

        try
        {
            await trying.Task.WaitAsync(TimeSpan.FromSeconds(60));
            using (var kill = System.Diagnostics.Process.Start("kill", new[] { "-TERM", node.Id.ToString() })!) await kill.WaitForExitAsync();
            // Before: the node waited on its join for ever; only SIGKILL ended it.
            await node.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }
        finally
        {
            if (!node.HasExited) node.Kill(entireProcessTree: true);
        }

        Assert.Equal(0, node.ExitCode);
        Assert.Contains(lines, l => l.Contains($"stopped before it joined the cluster (none of the seed nodes [akka.tcp://actorckpt@127.0.0.1:{seed}] had let it in)"));
    }

    [Fact]
    public void A_node_whose_port_is_taken_should_refuse_to_start_in_one_line_saying_so()
    {
        Directory.CreateDirectory(Dir);
        var config = Path.Combine(Dir, "node.conf");
        File.WriteAllText(config, $"actorckpt.root = \"{Dir}\"\n");
        var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        try
        {
            var exit = ActorCkptCli.Run(new[] { "node", "--config", config, "--port", port.ToString() }, stdout, stderr);

            // Before: Akka's 17-line stack trace on stdout, and "RemoteTransportException: Failed to bind to [127.0.0.1:P]. See InnerException for details."
            Assert.Equal(1, exit);
            Assert.Equal($"actorckpt: this node cannot listen on 127.0.0.1:{port} for Akka.Remote: the address is in use (another process holds it); " +
                         "give --port (akka.remote.dot-netty.tcp.port) another port, or 0 for a free one", stderr.ToString().TrimEnd());
            Assert.Equal("", stdout.ToString());
        }
        finally
        {
            taken.Stop();
        }
    }

    [Fact]
    public void A_node_without_a_checkpoint_directory_should_refuse_to_start_naming_the_key()
    {
        Directory.CreateDirectory(Dir);
        var config = Path.Combine(Dir, "empty.conf");
        File.WriteAllText(config, "");
        var stderr = new StringWriter();

        var exit = ActorCkptCli.Run(new[] { "node", "--config", config }, new StringWriter(), stderr);

        Assert.Equal(1, exit);
        Assert.Contains("actorckpt.root is not set", stderr.ToString());
    }
}

public class MultiProcessBenchSpec : IDisposable
{
    private readonly TempDirectory _temp = new();

    private string Dir => _temp.Path;

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Bench_across_node_processes_should_report_timings_beside_the_raw_baseline()
    {
        var stdout = new StringWriter();

        var exit = ActorCkptCli.Run(new[] { "bench", "--dir", Dir, "--nodes", "2", "--ranks", "2", "--size-mb", "2", "--tensors", "4", "--json" }, stdout, new StringWriter());

        Assert.True(exit == 0, stdout.ToString());
        var report = JsonDocument.Parse(stdout.ToString().TrimEnd().Split('\n')[^1]).RootElement;
        foreach (var field in new[] { "save_s", "first_save_s", "staged_s", "load_s", "raw_write_s", "raw_read_s",
                     "local_save_s", "spread_save_s", "transfer_gbps", "transfer_span_gbps", "socket_baseline_gbps", "channel_baseline_gbps", "channel_over_socket", "cluster_load_s", "cluster_load_reader_s" })
            Assert.True(report.GetProperty(field).GetDouble() > 0, field);
        Assert.True(report.GetProperty("bit_exact").GetBoolean());
        Assert.Equal(2, report.GetProperty("nodes").GetInt32());
        Assert.Equal(report.GetProperty("spread_save_s").GetDouble(), report.GetProperty("save_s").GetDouble());
        // The node processes' CPU in each phase (10 ms ticks: a phase of a 2 MiB state may take none); a
        // save that short puts no floor under spread_over_local (before: a floor of noise, above the ratio measured).
        foreach (var field in new[] { "local_save_cpu_s", "spread_save_cpu_s", "socket_cpu_s", "channel_cpu_s" })
            Assert.True(report.GetProperty(field).GetDouble() >= 0, field);
        Assert.True(report.GetProperty("local_save_s").GetDouble() < 0.5, stdout.ToString());
        Assert.Equal(JsonValueKind.Null, report.GetProperty("spread_over_local_floor").ValueKind);
        Assert.Contains("no floor for spread_over_local (the local save took under 0.5 s", stdout.ToString());
        Assert.Equal(Environment.ProcessorCount, report.GetProperty("cores").GetInt32());
        foreach (var ratio in new[] { "transfer_over_socket", "spread_over_local", "cluster_load_over_raw", "reader_load_over_socket" })
        {
            Assert.True(report.GetProperty(ratio).GetDouble() > 0, ratio);
            Assert.Equal(JsonValueKind.Object, report.GetProperty("channel_targets").GetProperty(ratio).ValueKind);
            Assert.Contains(report.GetProperty("channel_targets_met").GetProperty(ratio).ValueKind, new[] { JsonValueKind.True, JsonValueKind.False });
        }
        // The spread save moved bytes between the nodes over the channel: the tensor bytes of the
        // files one of the two nodes wrote (the writer-only node's; the training node's own writers
        // took the rest by reference).
        var md = new CheckpointStore(new LocalBlobStore(Path.Combine(Dir, "actorckpt", "spread"))).ReadMetadata(2);
        var stored = md.Tensors.Values.SelectMany(t => t.Chunks).Select(c => c.Bytes).Concat(md.Objects.Select(o => o.Bytes)).ToArray();
        var perNode = md.Files.GroupBy(f => f.Node).Select(g => stored.Where(b => g.Any(f => f.Name == b.File)).Sum(b => b.Length)).ToArray();
        Assert.Equal(2, perNode.Length);
        Assert.Contains(report.GetProperty("cross_node_bytes").GetInt64(), perNode);
        // Local placement: every byte of the one training node's ranks went to its own writers, none
        // to the writer-only node; all the files of the save loaded (step 2) came from there.
        var byNode = Assert.Single(report.GetProperty("bytes_by_node").EnumerateObject());
        Assert.StartsWith("akka.tcp://actorckpt@127.0.0.1:", byNode.Name);
        Assert.Equal(Directory.GetFiles(Path.Combine(Dir, "actorckpt", "local", "step-00000002"), "*.safetensors").Sum(f => new FileInfo(f).Length), byNode.Value.GetInt64());
    }
}
