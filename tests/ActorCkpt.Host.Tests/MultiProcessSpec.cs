using System.Text.Json;
using ActorCkpt.Host.Cli;

namespace ActorCkpt.Host.Tests;

public class MultiProcessSpec : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "actorckpt-mp-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void Demo_across_node_processes_should_commit_bytes_written_by_another_process_and_load_bit_exact()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        // Three `actorckpt node` processes (two training nodes, one writer-only), driven from here.
        var exit = ActorCkptCli.Run(new[]
        {
            "demo", "--dir", _dir, "--nodes", "3", "--ranks", "4", "--load-ranks", "3", "--size-mb", "4", "--tensors", "12",
            "--placement", "spread", "--json",
        }, stdout, stderr);

        Assert.True(exit == 0, stdout + "\n" + stderr);
        var report = JsonDocument.Parse(stdout.ToString().TrimEnd().Split('\n')[^1]).RootElement;
        Assert.True(report.GetProperty("bit_exact").GetBoolean());
        var byNode = report.GetProperty("bytes_by_node").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64());
        // Spread placement over every writer: each node process, the writer-only one included, wrote part of it.
        Assert.Equal(3, byNode.Count);
        Assert.All(byNode.Values, bytes => Assert.True(bytes > 0));
        Assert.Equal(report.GetProperty("bytes").GetInt64(), byNode.Values.Sum());
        Assert.All(byNode.Keys, address => Assert.StartsWith("akka.tcp://actorckpt@127.0.0.1:", address));
    }
}
