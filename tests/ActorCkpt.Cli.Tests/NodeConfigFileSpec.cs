using System.Diagnostics;
using ActorCkpt.Cli.Demo;

namespace ActorCkpt.Cli.Tests;

public class NodeConfigFileSpec
{
    [Fact]
    public async Task A_drivers_start_should_remove_the_files_of_drivers_no_longer_running_and_keep_the_rest()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.Path);
        using var ended = Process.Start("true")!;
        await ended.WaitForExitAsync();
        string At(string name) => Path.Combine(dir.Path, name);
        // A driver SIGKILLed while its nodes ran (before: left in /tmp for good), one still running
        // (this process), one named before files carried the driver's id, and another tool's file.
        var dead = At($"actorckpt-nodes-{ended.Id}-0123.conf");
        var live = At($"actorckpt-nodes-{Environment.ProcessId}-4567.conf");
        var kept = new[] { live, At("actorckpt-nodes-89abcdef.conf"), At("actorckpt-nodes-x.conf"), At("other.conf") };
        foreach (var f in kept.Append(dead)) await File.WriteAllTextAsync(f, "a = 1");

        var created = await NodeConfigFile.CreateAsync(dir.Path, "actorckpt.root = \"/r\"\n");

        Assert.False(File.Exists(dead));
        Assert.All(kept, f => Assert.True(File.Exists(f), f));
        Assert.Equal("actorckpt.root = \"/r\"\n", await File.ReadAllTextAsync(created));
        Assert.Equal(Environment.ProcessId, NodeConfigFile.DriverOf(Path.GetFileName(created)));
    }

    [Theory]
    [InlineData("actorckpt-nodes-123-abc.conf", 123)]
    [InlineData("actorckpt-nodes-abc.conf", null)]
    [InlineData("actorckpt-nodes-0-abc.conf", null)]
    [InlineData("actorckpt-nodes--5-abc.conf", null)]
    [InlineData("actorckpt-nodes-123-abc.txt", null)]
    [InlineData("other-123-abc.conf", null)]
    public void DriverOf_should_read_the_id_only_from_a_drivers_name(string name, int? pid) =>
        Assert.Equal(pid, NodeConfigFile.DriverOf(name));
}
