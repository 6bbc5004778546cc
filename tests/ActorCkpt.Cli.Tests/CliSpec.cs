using System.Text.Json;
using ActorCkpt.Cli;
using TorchSharp;

namespace ActorCkpt.Cli.Tests;

public class CliSpec : IDisposable
{
    private readonly TempDirectory _temp = new();

    private string Dir => _temp.Path;

    public void Dispose() => _temp.Dispose();

    private static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = ActorCkptCli.Run(args, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    private static JsonElement LastJson(string output) =>
        JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]).RootElement;

    /// <summary>The data files of <paramref name="stepDirectory"/>, by name, with their lengths.</summary>
    private static (string Name, long Length)[] DataFiles(string stepDirectory) =>
        Directory.GetFiles(stepDirectory, "*.safetensors").Select(f => (Path.GetFileName(f), new FileInfo(f).Length)).Order().ToArray();

    [Fact]
    public void Demo_should_save_load_on_other_ranks_and_report_bit_exact_json()
    {
        var (exit, output, _) = Run("demo", "--dir", Dir, "--ranks", "4", "--load-ranks", "3", "--size-mb", "2", "--tensors", "12", "--json");

        Assert.Equal(0, exit);
        var report = LastJson(output);
        Assert.Equal(1, report.GetProperty("step").GetInt64());
        Assert.True(report.GetProperty("bit_exact").GetBoolean());
        // About the 2 MiB asked for (rows are whole, headers come on top), and exactly what is on disk.
        Assert.InRange(report.GetProperty("bytes").GetInt64(), (2 << 20) * 9 / 10, (2 << 20) * 11 / 10);
        Assert.Equal(DataFiles(Path.Combine(Dir, "step-00000001")).Sum(f => f.Length), report.GetProperty("bytes").GetInt64());
        foreach (var field in new[] { "save_s", "staged_s", "load_s" }) Assert.True(report.GetProperty(field).GetDouble() >= 0);
    }

    [Fact]
    public void Demo_in_one_process_with_the_memory_tier_should_load_its_memory_step_bit_exact()
    {
        var shm = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), "actorckpt-cli-" + Guid.NewGuid().ToString("N"));
        var config = Path.Combine(Dir, "memory.conf");
        Directory.CreateDirectory(Dir);
        File.WriteAllText(config, $"actorckpt.tiers.memory {{ enabled = on, replicas = 1, host = h0, directory = \"{shm}\" }}\nactorckpt.tiers.disk.every = 0");
        try
        {
            var (exit, output, _) = Run("demo", "--dir", Path.Combine(Dir, "ckpt"), "--size-mb", "1", "--tensors", "4", "--config", config, "--json");

            // Before, the step was committed to memory and the demo said "no committed checkpoint", exit 1.
            Assert.Equal(0, exit);
            Assert.Contains("(saved on 4 ranks, from memory) on 3 ranks", output);
            var report = LastJson(output);
            Assert.True(report.GetProperty("bit_exact").GetBoolean());
            Assert.False(Directory.Exists(Path.Combine(Dir, "ckpt", "step-00000001")));
        }
        finally
        {
            if (Directory.Exists(shm)) Directory.Delete(shm, recursive: true);
        }
    }

    [Fact]
    public void Demo_should_continue_after_the_latest_step_and_check_should_load_it_on_any_rank_count()
    {
        Assert.Equal(0, Run("demo", "--dir", Dir, "--size-mb", "1", "--tensors", "8", "--steps", "2").Exit);
        var (exit, output, _) = Run("demo", "--dir", Dir, "--size-mb", "1", "--tensors", "8", "--json");
        Assert.Equal(0, exit);
        Assert.Equal(3, LastJson(output).GetProperty("step").GetInt64());

        foreach (var ranks in new[] { "1", "2", "5" })
        {
            var check = Run("demo", "--dir", Dir, "--check", "--load-ranks", ranks, "--size-mb", "1", "--tensors", "8", "--json");
            Assert.Equal(0, check.Exit);
            Assert.True(LastJson(check.Out).GetProperty("bit_exact").GetBoolean());
        }
    }

    [Fact]
    public void Check_with_other_values_should_fail()
    {
        Assert.Equal(0, Run("demo", "--dir", Dir, "--size-mb", "1", "--tensors", "4", "--layout", "sharded").Exit);

        var (exit, output, _) = Run("demo", "--dir", Dir, "--check", "--size-mb", "1", "--tensors", "4", "--layout", "sharded", "--seed", "2", "--json");

        Assert.Equal(1, exit);
        Assert.False(LastJson(output).GetProperty("bit_exact").GetBoolean());
        Assert.Contains("MISMATCH", output);
    }

    [Fact]
    public void Inspect_should_list_steps_and_one_steps_tensors_chunks_and_files()
    {
        Run("demo", "--dir", Dir, "--size-mb", "1", "--tensors", "4", "--steps", "2", "--ranks", "2");

        var list = LastJson(Run("inspect", Dir, "--json").Out);
        var step = LastJson(Run("inspect", Dir, "--step", "2", "--json").Out);

        // Before: "format version 1", the version of the JSON form, for a step in the binary form (layout version 2).
        Assert.Matches(@"^step 2: saved on 2 ranks at \S+, metadata in the binary form \(layout version 2\)\r?$", Run("inspect", Dir, "--step", "2").Out.Split('\n')[0]);
        Assert.Equal(2, list.GetProperty("latest").GetInt64());
        Assert.Equal(new long[] { 1, 2 }, list.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("step").GetInt64()));
        Assert.Equal(4, step.GetProperty("tensors").GetArrayLength());
        var chunk = step.GetProperty("tensors")[0].GetProperty("chunks")[0];
        Assert.EndsWith(".safetensors", chunk.GetProperty("file").GetString());
        Assert.Equal(DataFiles(Path.Combine(Dir, "step-00000002")),
            step.GetProperty("files").EnumerateArray().Select(f => (f.GetProperty("name").GetString()!, f.GetProperty("length").GetInt64())).Order());
    }

    [Fact]
    public void Verify_should_pass_and_then_name_the_file_and_tensor_of_a_corrupted_byte()
    {
        Run("demo", "--dir", Dir, "--size-mb", "1", "--tensors", "4", "--ranks", "2", "--layout", "sharded");
        var good = Run("verify", Dir, "--json");
        Assert.Equal(0, good.Exit);
        Assert.True(LastJson(good.Out).GetProperty("ok").GetBoolean());
        Assert.Contains("verify step 1: 100% (1.0 MiB of 1.0 MiB)", good.Out);

        var stepDir = Path.Combine(Dir, "step-00000001");
        var file = Directory.GetFiles(stepDir, "*.safetensors").Order().First();
        var bytes = File.ReadAllBytes(file);
        bytes[bytes.Length / 2] ^= 0xFF; // inside a tensor: entries sit at the end of a file
        File.WriteAllBytes(file, bytes);
        var (exit, output, _) = Run("verify", Dir, "--step", "1", "--json");

        Assert.NotEqual(0, exit);
        Assert.Matches($@"BAD file={Path.GetFileName(file)} key=model\.layers\.\d+\.weight", output);
        var report = LastJson(output);
        Assert.False(report.GetProperty("ok").GetBoolean());
        Assert.Contains(Path.GetFileName(file), Assert.Single(report.GetProperty("problems").EnumerateArray()).GetString());
    }

    [Fact]
    public void Gc_should_report_as_committed_what_the_catalog_holds_committed_not_what_is_left_on_disk()
    {
        Run("demo", "--dir", Dir, "--size-mb", "1", "--tensors", "4", "--ranks", "2", "--steps", "4");
        var config = Path.Combine(Dir, "retention.conf");
        File.WriteAllText(config, "actorckpt.retention.keep-last = 2");
        // Step 2's directory immutable: retention deletes it in the catalog, and its removal from the disk fails.
        var step2 = Path.Combine(Dir, "step-00000002");
        Chattr("+i", step2);
        try
        {
            var gc = Run("gc", Dir, "--config", config, "--json");

            Assert.Equal(1, gc.Exit);
            Assert.Contains("could not remove step 2", gc.Out);
            // Before: [2, 3, 4], from the directories (step 2's metadata was still there).
            Assert.Equal(new long[] { 3, 4 }, LastJson(gc.Out).GetProperty("committed").EnumerateArray().Select(s => s.GetInt64()));
        }
        finally
        {
            Chattr("-i", step2);
        }
    }

    private static void Chattr(string flag, string path)
    {
        using var chattr = System.Diagnostics.Process.Start("chattr", new[] { flag, path })!;
        chattr.WaitForExit();
        Assert.True(chattr.ExitCode == 0, $"chattr {flag} {path} failed (exit {chattr.ExitCode}): this test needs a file system with the immutable attribute, and root");
    }

    [Fact]
    public void Ls_should_list_the_catalog_and_gc_should_remove_debris_and_apply_retention()
    {
        Run("demo", "--dir", Dir, "--size-mb", "1", "--tensors", "4", "--ranks", "2", "--steps", "4");
        Directory.CreateDirectory(Path.Combine(Dir, "step-00000009"));
        File.WriteAllText(Path.Combine(Dir, "step-00000009", "r00000-000-deadbeef.safetensors"), "torn");
        var config = Path.Combine(Dir, "retention.conf");
        File.WriteAllText(config, "actorckpt.retention { keep-last = 1, keep-every = 2 }");

        var onDisk = Enumerable.Range(1, 4).Select(s => DataFiles(Path.Combine(Dir, $"step-{s:D8}"))).ToArray();
        var before = LastJson(Run("ls", Dir, "--json").Out);
        var gc = Run("gc", Dir, "--config", config, "--json");
        var after = LastJson(Run("ls", Dir, "--json").Out);

        Assert.Equal(Enumerable.Repeat("committed", 4), before.GetProperty("checkpoints").EnumerateArray().Select(c => c.GetProperty("status").GetString()));
        Assert.Equal(onDisk.Select(files => (files.Length, files.Sum(f => f.Length))),
            before.GetProperty("checkpoints").EnumerateArray().Select(c => (c.GetProperty("files").GetInt32(), c.GetProperty("bytes").GetInt64())));
        Assert.Equal(0, gc.Exit);
        var report = LastJson(gc.Out);
        Assert.Equal(new long[] { 9 }, report.GetProperty("debris_removed").EnumerateArray().Select(s => s.GetInt64()));
        Assert.Equal(new long[] { 1, 3 }, report.GetProperty("deleted").EnumerateArray().Select(s => s.GetInt64()));
        Assert.Equal(new long[] { 2, 4 }, report.GetProperty("committed").EnumerateArray().Select(s => s.GetInt64()));
        Assert.Equal(new[] { "deleted", "committed", "deleted", "committed" },
            after.GetProperty("checkpoints").EnumerateArray().Select(c => c.GetProperty("status").GetString()));
        // The debris and both steps retention deleted are gone from the disk; the two it keeps stay.
        Assert.Equal(new[] { "step-00000002", "step-00000004" }, Directory.GetDirectories(Dir, "step-*").Select(Path.GetFileName).Order());
    }

    [Fact]
    public void Gc_should_say_it_removed_the_files_an_earlier_planner_left_of_steps_it_deleted()
    {
        // The demo's planner deletes steps 1 to 3 as it goes, and leaves their files: it ends within its removal grace.
        var config = Path.Combine(Dir + "-conf", "keep1.conf");
        Directory.CreateDirectory(Path.GetDirectoryName(config)!);
        File.WriteAllText(config, "actorckpt.retention { keep-last = 1, grace-after-start = 1h }");
        Assert.Equal(0, Run("demo", "--dir", Dir, "--size-mb", "1", "--tensors", "4", "--steps", "4", "--config", config).Exit);
        Assert.Equal(4, Directory.GetDirectories(Dir, "step-*").Length);

        var gc = Run("gc", Dir, "--config", config, "--json");

        // Before: "no debris" and "retention … deletes nothing", while the three directories went.
        Assert.Equal(0, gc.Exit);
        Assert.Contains("removed the files left of steps 1, 2, 3, deleted from the disk before", gc.Out);
        var report = LastJson(gc.Out);
        Assert.Equal(new long[] { 1, 2, 3 }, report.GetProperty("deleted_before_files_removed").EnumerateArray().Select(s => s.GetInt64()));
        Assert.Equal((0, 0), (report.GetProperty("debris_removed").GetArrayLength(), report.GetProperty("deleted").GetArrayLength()));
        Assert.Equal(new[] { "step-00000004" }, Directory.GetDirectories(Dir, "step-*").Select(Path.GetFileName));
        Directory.Delete(Dir + "-conf", recursive: true);
    }

    [Fact]
    public void Gc_should_delete_nothing_when_no_step_retention_keeps_reads_whole()
    {
        Run("demo", "--dir", Dir, "--size-mb", "1", "--tensors", "4", "--ranks", "2", "--steps", "3");
        // A data byte of step 3 flipped past its header: its metadata and headers still check.
        var file = Path.Combine(Dir, "step-00000003", DataFiles(Path.Combine(Dir, "step-00000003"))[0].Name);
        var bytes = File.ReadAllBytes(file);
        bytes[^1] ^= 0xFF;
        File.WriteAllBytes(file, bytes);
        var config = Path.Combine(Dir, "retention.conf");
        File.WriteAllText(config, "actorckpt.retention.keep-last = 1");

        var gc = Run("gc", Dir, "--config", config);

        // Before: "deleted steps 1, 2", and only the damaged step 3 was left.
        Assert.Equal(1, gc.Exit);
        Assert.StartsWith($"step 3 does not read whole: BAD file={Path.GetFileName(file)} key=", gc.Out);
        Assert.Equal("actorckpt: gc deletes nothing: retention would delete steps 1, 2 and keep steps 3, none of which reads whole: " +
                     "check them with actorckpt verify, and move or remove them by hand", gc.Err.TrimEnd());
        Assert.Equal(new[] { "step-00000001", "step-00000002", "step-00000003" }, Directory.GetDirectories(Dir, "step-*").Select(Path.GetFileName).Order());

        // The byte put back, step 3 reads whole: gc deletes steps 1 and 2.
        bytes[^1] ^= 0xFF;
        File.WriteAllBytes(file, bytes);
        Assert.Equal(0, Run("gc", Dir, "--config", config).Exit);
        Assert.Equal(new[] { "step-00000003" }, Directory.GetDirectories(Dir, "step-*").Select(Path.GetFileName).Order());
    }

    [Fact]
    public async Task Gc_should_refuse_to_run_beside_a_running_planner()
    {
        Run("demo", "--dir", Dir, "--size-mb", "1", "--tensors", "4", "--ranks", "2");
        await using var running = Checkpointer.Start(Dir);
        await running.ReadCatalogAsync();

        var (exit, _, err) = Run("gc", Dir);

        Assert.Equal(1, exit);
        Assert.Contains($"is held by another checkpointer: '{Path.Combine(Path.GetFullPath(Dir), CheckpointLayout.CatalogLockFile)}' is locked by pid {Environment.ProcessId}", err);
        Assert.True(Directory.Exists(Path.Combine(Dir, "step-00000001")));
    }

    [Fact]
    public void Ls_of_a_root_without_a_catalog_should_say_so()
    {
        Directory.CreateDirectory(Dir);

        var (exit, _, err) = Run("ls", Dir);

        Assert.Equal(1, exit);
        Assert.Contains("has no catalog", err);
    }

    [Fact]
    public void Export_should_write_every_model_tensor_whole_and_bit_exact_in_size_limited_files_with_an_index()
    {
        Run("demo", "--dir", Dir, "--size-mb", "1", "--tensors", "6", "--ranks", "2");
        var outDir = Path.Combine(Dir, "hf");

        var (exit, output, err) = Run("export", Dir, "--out", outDir, "--max-shard-size", "300KB", "--json");

        Assert.True(exit == 0, output + err);
        var report = LastJson(output);
        var files = report.GetProperty("files").EnumerateArray().Select(f => f.GetString()!).ToArray();
        using var index = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(outDir, "model.safetensors.index.json")));
        var weightMap = index.RootElement.GetProperty("weight_map").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
        // The files reported are the files written, and the index names each of them.
        Assert.Equal(Directory.GetFiles(outDir, "*.safetensors").Select(Path.GetFileName).Order(), files.Order());
        Assert.Equal(files.Order(), weightMap.Values.Distinct().Order());
        // The values the demo saved, regenerated whole (one rank holds every tensor entire).
        var expected = new ActorCkpt.Cli.Demo.SyntheticModel(1, 6, "mixed", 1).BuildStates(1, 1)[0];
        Assert.Equal(expected.Tensors.Select(t => t.Key).Order(), weightMap.Keys.Order());
        long total = 0;
        foreach (var file in files)
        {
            using var reader = new ActorCkpt.LocalBlobStore(outDir).OpenRead(file);
            var header = ActorCkpt.SafetensorsHeader.Read(reader, file);
            Assert.Equal("pt", header.Metadata["format"]);
            // 300KB: a file holds more than one tensor only if they fit in 300,000 bytes together.
            Assert.True(header.Entries.Count == 1 || header.Entries.Sum(e => e.Length) <= 300_000, $"{file}: {header.Entries.Count} tensors of {header.Entries.Sum(e => e.Length)} bytes");
            foreach (var entry in header.Entries)
            {
                Assert.Equal(file, weightMap[entry.Name]);
                var bytes = new byte[entry.Length];
                reader.ReadExactly(bytes, header.DataStart + entry.Begin);
                Assert.True(expected.Tensors.Single(t => t.Key == entry.Name).Tensor.bytes.SequenceEqual(bytes), entry.Name);
                total += entry.Length;
            }
        }
        Assert.Equal(total, index.RootElement.GetProperty("metadata").GetProperty("total_size").GetInt64());
        ActorCkpt.Cli.Demo.SyntheticModel.Dispose(new[] { expected });
    }

    [Fact]
    public void Export_should_refuse_a_size_it_cannot_read_naming_the_flag()
    {
        Run("demo", "--dir", Dir, "--size-mb", "1", "--tensors", "2", "--ranks", "1");

        var (exit, _, err) = Run("export", Dir, "--out", Path.Combine(Dir, "hf"), "--max-shard-size", "lots");

        Assert.Equal(2, exit);
        Assert.Contains("--max-shard-size 'lots'", err);
        Assert.Equal(5_000_000_000, Sizes.Parse("5GB"));
        Assert.Equal(2L << 30, Sizes.Parse("2GiB"));
        Assert.Equal(1234, Sizes.Parse("1234"));
    }

    [Fact]
    public void Bench_should_report_saves_loads_memory_and_the_raw_baseline()
    {
        var (exit, output, _) = Run("bench", "--dir", Dir, "--size-mb", "2", "--tensors", "4", "--ranks", "2", "--json");

        Assert.Equal(0, exit);
        var report = LastJson(output);
        foreach (var field in new[] { "save_s", "first_save_s", "staged_s", "async_save_s", "memcpy_s", "load_s", "load_cold_s", "load_reshard_s",
                     "raw_write_s", "raw_read_s", "save_over_raw", "load_over_raw" })
            Assert.True(report.GetProperty(field).GetDouble() > 0, field);
        // Target 4: a save in place grows the process by far less than the state plus 300 MB.
        Assert.InRange(report.GetProperty("save_peak_growth_bytes").GetInt64(), 0, (2L << 20) + (300L << 20));
        // The files of the last save (in place, step 3), as on disk.
        Assert.Equal(DataFiles(Path.Combine(Dir, "actorckpt", "step-00000003")).Length, report.GetProperty("files").GetInt32());
        Assert.Equal(3, report.GetProperty("reshard_ranks").GetInt32());
        Assert.Equal(2L << 20, report.GetProperty("bytes").GetInt64());
        // Sharded: no replicas to leave to others, so the async save (step 2) staged every tensor byte and every entry of every rank.
        var states = new ActorCkpt.Cli.Demo.SyntheticModel(2, 4, "sharded", 1).BuildStates(2, step: 2);
        Assert.Equal(states.Sum(s => s.Tensors.Sum(t => t.Tensor.NumberOfElements * t.Tensor.ElementSize) + s.Objects.Sum(o => (long)o.Bytes.Length)),
            report.GetProperty("staged_bytes").GetInt64());
        ActorCkpt.Cli.Demo.SyntheticModel.Dispose(states);
        // Bit-exact covers every load: warm, cold and resharded onto 3 ranks.
        Assert.True(report.GetProperty("bit_exact").GetBoolean());
    }

    [Fact]
    public void Bad_flags_should_fail_with_a_message_naming_them()
    {
        var layout = Run("demo", "--dir", Dir, "--layout", "diagonal");
        var missing = Run("verify", Dir);

        // Refused by the parser (exit 2, one line naming the value, the nearest accepted one and the list; no usage).
        Assert.Equal(2, layout.Exit);
        Assert.Equal("actorckpt: --layout 'diagonal' is not accepted; did you mean 'sharded'? (one of: sharded, replicated, mixed)" + Environment.NewLine, layout.Err);
        Assert.Equal("", layout.Out);
        // A directory that is not there is a failed operation (exit 1), named.
        Assert.Equal(1, missing.Exit);
        Assert.Contains(Dir, missing.Err);
    }
}
