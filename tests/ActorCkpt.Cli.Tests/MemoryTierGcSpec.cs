using System.Diagnostics;
using System.Text.Json;

namespace ActorCkpt.Cli.Tests;

/// <summary>
/// <c>gc</c> with the memory tier on removes this host's tmpfs debris (a killed writer's temporary
/// files, copies of a memory round that never committed) and says so; the committed memory steps'
/// copies stay. Before, gc reported "no debris" and left them until the tier's next start.
/// </summary>
public class MemoryTierGcSpec : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly string _replicas = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), "actorckpt-gc-" + Guid.NewGuid().ToString("N")[..12]);

    public void Dispose()
    {
        _temp.Dispose();
        if (Directory.Exists(_replicas)) Directory.Delete(_replicas, recursive: true);
    }

    [Fact]
    public async Task Gc_should_remove_this_hosts_memory_debris_and_keep_the_committed_memory_steps_copies()
    {
        var root = Path.Combine(_temp.Path, "root");
        Directory.CreateDirectory(_temp.Path);
        var config = Path.Combine(_temp.Path, "memory.conf");
        File.WriteAllText(config, $"actorckpt.tiers.memory {{ enabled = on, replicas = 1, host = h0, directory = {JsonSerializer.Serialize(_replicas)} }}\n" +
                                  "actorckpt.tiers.disk.every = 0\n");
        var train = await ToolRun.RunAsync(TimeSpan.FromMinutes(3), "train", "--dir", root, "--steps", "4", "--ckpt-every", "2", "--config", config);
        Assert.True(train.Exit == 0, train.Out + train.Err);

        var store = new ReplicaStore(_replicas, ReplicaLayout.Namespace(Path.GetFullPath(root)), "h0");
        var committed = store.List().Held.Select(h => (h.Step, h.DataFile)).Order().ToArray();
        Assert.Equal([2L, 4L], committed.Select(c => c.Step).Distinct());
        // A writer killed mid-copy: its temporary file, named with its (gone) pid.
        using var exited = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        exited.WaitForExit();
        var temporary = Path.Combine(store.Root, "step-00000004", ReplicaLayout.TempName("r00000-000-0badf00d.safetensors", exited.Id, "abcd1234"));
        File.WriteAllBytes(temporary, new byte[4096]);
        // A memory round killed before its commit: a published copy of step 6, which the catalog never committed.
        var plan = new FileWritePlan("r00000-000-0badf00d.safetensors", 0, 0,
            [WriteItem.ForTensor("w", 0, 0, DType.UInt8, [1000], TensorBox.Whole([1000]))]);
        using (var writer = store.Create(6, Guid.NewGuid(), plan, 64 << 10, new Dictionary<string, string> { ["format"] = "pt" }))
        {
            writer.Append(0, 0, new byte[1000]);
            writer.Complete();
        }

        var gc = await ToolRun.RunAsync(TimeSpan.FromMinutes(2), "gc", root, "--config", config, "--json");

        Assert.True(gc.Exit == 0, gc.Out + gc.Err);
        Assert.Contains("memory tier (host 'h0'): removed 1 temporary file(s) of writers that are gone and 1 copy of steps not committed in memory\n", gc.Out);
        var report = JsonDocument.Parse(gc.Out.TrimEnd().Split('\n')[^1]).RootElement.GetProperty("memory_debris");
        Assert.Equal(1, report.GetProperty("temporary_files_removed").GetInt32());
        Assert.Equal(["step 6: r00000-000-0badf00d.safetensors"], report.GetProperty("copies_dropped").EnumerateArray().Select(c => c.GetString()));
        Assert.False(File.Exists(temporary));
        Assert.Equal(committed, store.List().Held.Select(h => (h.Step, h.DataFile)).Order().ToArray());

        // The committed memory steps still load from memory, and a second gc finds nothing.
        var ls = await ToolRun.RunAsync("ls", root, "--config", config);
        Assert.Contains("step 4: committed [memory]", ls.Out);
        var again = await ToolRun.RunAsync(TimeSpan.FromMinutes(2), "gc", root, "--config", config);
        Assert.Contains("memory tier (host 'h0'): no debris\n", again.Out);
    }
}
