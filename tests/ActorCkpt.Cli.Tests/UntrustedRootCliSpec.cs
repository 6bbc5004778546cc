using System.Runtime.InteropServices;
using System.Text.Json;
using ActorCkpt.Cli;
using static ActorCkpt.Cli.Tests.ToolRun;

namespace ActorCkpt.Cli.Tests;

/// <summary>
/// Debris others left in a root (a FIFO named metadata.json in a step no catalog committed, a torn
/// file beside it): every command finishes (each bounded at 30 s, so a hang fails), works on the
/// committed steps, and leaves the debris alone; asking for that step gives the one-line refusal.
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
    public async Task A_FIFO_metadata_in_an_uncommitted_step_should_not_stop_inspect_verify_ls_gc_or_export()
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
        var gc = await RunAsync("gc", Dir, "--json");
        var export = await RunAsync("export", Dir, "--out", Path.Combine(Dir, "hf"), "--json");
        var asked = await RunAsync("inspect", Dir, "--step", "9");

        Assert.Equal(0, inspect.Exit);
        Assert.Equal(new long[] { 1, 2 }, LastJson(inspect.Out).GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("step").GetInt64()));
        Assert.Equal(0, verify.Exit);
        Assert.True(LastJson(verify.Out).GetProperty("ok").GetBoolean());
        Assert.Equal(0, ls.Exit);
        Assert.Equal(new[] { "committed", "committed" }, LastJson(ls.Out).GetProperty("checkpoints").EnumerateArray().Select(c => c.GetProperty("status").GetString()));
        Assert.Equal(0, gc.Exit);
        var report = LastJson(gc.Out);
        Assert.Empty(report.GetProperty("debris_removed").EnumerateArray());
        Assert.Equal(new long[] { 1, 2 }, report.GetProperty("committed").EnumerateArray().Select(s => s.GetInt64()));
        Assert.Equal(0, export.Exit);
        Assert.NotEqual(0, asked.Exit);
        Assert.Contains($"'{fifo}' is a FIFO, not a regular file", asked.Err);
        // Neither a checkpoint nor debris the tool made: left where it is.
        Assert.True(File.Exists(fifo));
    }
}
