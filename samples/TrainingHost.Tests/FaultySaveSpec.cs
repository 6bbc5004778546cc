using ActorCkpt.TestKit;
using Microsoft.Extensions.Hosting;

namespace TrainingHost.Tests;

/// <summary>The sample host as the program runs it (Akka.Hosting, WithActorCkpt), over storage whose Nth data-file write fails.</summary>
public sealed class FaultySaveSpec : IDisposable
{
    /// <summary>The hang guard of one run of the host.</summary>
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private readonly TempRoot _dir = new();

    public void Dispose() => _dir.Dispose();

    private static async Task<Run> RunHostAsync(string root, int steps, StorageFaults? faults = null)
    {
        Run.SingleThreaded();
        var port = Run.FreePort();
        var options = new RunOptions { Rank = 0, World = 1, Port = port, SeedPort = port, Root = root, Steps = steps, SaveEvery = 5 };
        var run = new Run();
        using var host = TrainingApp.Build(options, run.Report,
            o =>
            {
                if (faults is not null) o.UseStorageFaults(faults);
                o.Settings["writer.backoff-min"] = "5ms";
            },
            ActorCkptTestCluster.TestHocon.Replace("akka.coordinated-shutdown.run-by-actor-system-terminate = off", ""));
        await host.RunAsync().WaitAsync(Deadline);
        Assert.DoesNotContain(run.Lines, l => l.StartsWith("error ", StringComparison.Ordinal) || l.StartsWith("save-failed ", StringComparison.Ordinal));
        return run;
    }

    [Fact]
    public async Task A_save_whose_second_data_file_write_fails_should_be_retried_and_the_resumed_run_be_bit_exact()
    {
        var reference = await RunHostAsync(_dir.Sub("reference"), steps: 10);

        // The run is cut after its first checkpoint, whose second data file fails once.
        var faults = new StorageFaults();
        var second = faults.FailWrite(2);
        var root = _dir.Sub("faulty");
        var cut = await RunHostAsync(root, steps: 5, faults);
        Assert.True(second.Fired.IsCompletedSuccessfully, $"{second} never fired: {second.WritesSeen} writes");
        var files = Directory.GetFiles(Path.Combine(root, "step-00000005"), "*.safetensors").Length;
        // Each data file written once, the failed one twice: the writer retried it.
        Assert.Equal(files + 1, second.WritesSeen);
        Assert.Equal([5L], ActorCkpt.CheckpointReader.Open(root).Steps);
        Assert.Equal(5, cut.Of("loss").Count);

        var resumed = await RunHostAsync(root, steps: 10);

        Assert.Equal(["5 1"], resumed.Of("resume"));
        Assert.Equal(reference.LossesAfter(5), resumed.LossesAfter(0));
        Assert.Equal(5, resumed.LossesAfter(0).Count);
        Assert.Equal(reference.Of("params"), resumed.Of("params"));
    }
}
