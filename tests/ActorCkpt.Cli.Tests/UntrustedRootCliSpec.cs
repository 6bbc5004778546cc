using System.Runtime.InteropServices;
using System.Text.Json;
using ActorCkpt.Cli;
using static ActorCkpt.Cli.Tests.ToolRun;

namespace ActorCkpt.Cli.Tests;

/// <summary>
/// Debris others left in a root (a FIFO named metadata.json in a step no catalog committed, a torn
/// file beside it): every command finishes (each bounded at 30 s, so a hang fails) and works on the
/// committed steps; asking for that step gives the one-line refusal; gc and a new save of that step
/// remove it, as they remove other debris.
/// </summary>
public class UntrustedRootCliSpec : IDisposable
{
    private readonly TempDirectory _temp = new();

    private string Dir => _temp.Path;

    public void Dispose() => _temp.Dispose();

    private static JsonElement LastJson(string output) => JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]).RootElement;

    [DllImport("libc", SetLastError = true)]
    private static extern int mkfifo([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode);

    [Fact]
    public async Task A_FIFO_metadata_in_an_uncommitted_step_should_not_stop_inspect_verify_ls_or_export_and_gc_should_remove_it()
    {
        Assert.Equal(0, (await RunAsync("demo", "--dir", Dir, "--size-mb", "1", "--tensors", "4", "--ranks", "2", "--steps", "2")).Exit);
        var debris = Path.Combine(Dir, "step-00000009");
        Directory.CreateDirectory(debris);
        var fifo = Path.Combine(debris, "metadata.json");
        Assert.Equal(0, mkfifo(fifo, 0b110_100_100));
        File.WriteAllText(Path.Combine(debris, "r00000-000-deadbeef.safetensors"), "torn");

        var inspect = await RunAsync("inspect", Dir, "--json");
        var verify = await RunAsync("verify", Dir, "--json");
        var ls = await RunAsync("ls", Dir, "--json");
        var export = await RunAsync("export", Dir, "--out", Path.Combine(Dir, "hf"), "--json");
        var asked = await RunAsync("inspect", Dir, "--step", "9");
        var gc = await RunAsync("gc", Dir, "--json");

        Assert.Equal(0, inspect.Exit);
        Assert.Equal(new long[] { 1, 2 }, LastJson(inspect.Out).GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("step").GetInt64()));
        Assert.Equal(0, verify.Exit);
        Assert.True(LastJson(verify.Out).GetProperty("ok").GetBoolean());
        Assert.Equal(0, ls.Exit);
        Assert.Equal(new[] { "committed", "committed" }, LastJson(ls.Out).GetProperty("checkpoints").EnumerateArray().Select(c => c.GetProperty("status").GetString()));
        Assert.Equal(0, export.Exit);
        Assert.NotEqual(0, asked.Exit);
        Assert.Contains($"'{fifo}' is a FIFO, not a regular file", asked.Err);
        // No commit (a commit only renames a regular file into place) and unknown to the catalog: debris, removed as other debris is.
        Assert.Equal((0, ""), (gc.Exit, gc.Err));
        Assert.Contains("removed the debris of steps 9" + Environment.NewLine, gc.Out);
        var report = LastJson(gc.Out);
        Assert.Equal(new long[] { 9 }, report.GetProperty("debris_removed").EnumerateArray().Select(s => s.GetInt64()));
        Assert.Equal(new long[] { 1, 2 }, report.GetProperty("committed").EnumerateArray().Select(s => s.GetInt64()));
        Assert.False(Directory.Exists(debris));
    }

    [Fact]
    public async Task A_FIFO_at_the_trackers_temporary_name_should_be_replaced_not_waited_on()
    {
        Assert.Equal(0, (await RunAsync("demo", "--dir", Dir, "--size-mb", "1", "--tensors", "4", "--ranks", "2", "--steps", "2")).Exit);
        var fifo = Path.Combine(Dir, CheckpointLayout.LatestFile + ".tmp");
        Assert.Equal(0, mkfifo(fifo, 0b110_100_100));

        // Before, gc and the next save opened it for writing and waited for a reader, for good.
        var gc = await RunAsync("gc", Dir);
        Assert.Equal(0, gc.Exit);
        Assert.Equal(0, mkfifo(fifo, 0b110_100_100));
        var save = await RunAsync("demo", "--dir", Dir, "--size-mb", "1", "--tensors", "4", "--ranks", "2", "--steps", "1");

        Assert.Equal((0, ""), (save.Exit, save.Err));
        Assert.Equal("3\n", File.ReadAllText(Path.Combine(Dir, CheckpointLayout.LatestFile)));
        Assert.False(File.Exists(fifo));
    }

    [Fact]
    public async Task A_save_of_a_step_whose_directory_holds_a_FIFO_metadata_should_clear_that_debris_and_commit()
    {
        Assert.Equal(0, (await RunAsync("demo", "--dir", Dir, "--size-mb", "1", "--tensors", "4", "--ranks", "2", "--steps", "2")).Exit);
        var debris = Path.Combine(Dir, CheckpointLayout.StepDirectory(3));
        Directory.CreateDirectory(debris);
        var fifo = Path.Combine(debris, CheckpointLayout.MetadataFile);
        Assert.Equal(0, mkfifo(fifo, 0b110_100_100));
        File.WriteAllText(Path.Combine(debris, "r00000-000-deadbeef.safetensors"), "torn");

        // The demo on a root with steps 1..2 saves step 3. Before: "save of step 3 failed: step 3 is already committed …", every time.
        var save = await RunAsync("demo", "--dir", Dir, "--size-mb", "1", "--tensors", "4", "--ranks", "2", "--steps", "1");
        var ls = await RunAsync("ls", Dir, "--json");

        Assert.Equal((0, ""), (save.Exit, save.Err));
        Assert.Equal(new (long, string?)[] { (1L, "committed"), (2L, "committed"), (3L, "committed") }, LastJson(ls.Out).GetProperty("checkpoints").EnumerateArray()
            .Select(c => (c.GetProperty("step").GetInt64(), c.GetProperty("status").GetString())));
        Assert.Equal(FileKind.Regular, RegularFile.Kind(fifo));
        Assert.False(File.Exists(Path.Combine(debris, "r00000-000-deadbeef.safetensors")));
        Assert.Equal(0, (await RunAsync("verify", Dir)).Exit); // the newest step, 3, is whole
    }

    [Fact]
    public async Task A_save_of_a_step_the_catalog_committed_whose_metadata_is_a_FIFO_should_be_refused_and_its_files_kept()
    {
        Assert.Equal(0, (await RunAsync("demo", "--dir", Dir, "--size-mb", "1", "--tensors", "4", "--ranks", "2", "--steps", "2")).Exit);
        var step2 = Path.Combine(Dir, CheckpointLayout.StepDirectory(2));
        var fifo = Path.Combine(step2, CheckpointLayout.MetadataFile);
        File.Delete(fifo);
        Assert.Equal(0, mkfifo(fifo, 0b110_100_100));
        var files = Directory.GetFiles(step2).Order(StringComparer.Ordinal).ToArray();

        // Step 2 again: not debris, the catalog vouches for its files.
        await using (var ckpt = Checkpointer.Start(Dir))
        {
            using var w = TorchSharp.torch.ones(4);
            var e = await Assert.ThrowsAsync<CheckpointFailedException>(() => ckpt.SaveAsync(2, new RankState(0, 1).AddReplicated("w", w)));
            Assert.Equal($"save of step 2 failed: step 2 is already committed in '{Dir}'; refusing to overwrite it", e.Message);
        }
        Assert.Equal(files, Directory.GetFiles(step2).Order(StringComparer.Ordinal).ToArray());
        Assert.Equal(FileKind.Fifo, RegularFile.Kind(fifo));

        // The demo goes on from the catalog's newest step, 2 (before, from the directories' newest, 1, and so saved step 2 again).
        var demo = await RunAsync("demo", "--dir", Dir, "--size-mb", "1", "--tensors", "4", "--ranks", "2", "--steps", "1");
        Assert.True(demo.Exit == 0, demo.Err);
        Assert.Equal(3, CheckpointReader.Open(Dir).Steps.Max());
        Assert.Equal(FileKind.Fifo, RegularFile.Kind(fifo));
    }
}
