using ActorCkpt;
using Akka.Actor;
using Akka.Cluster;
using Microsoft.Extensions.Hosting;

namespace TrainingHost;

/// <summary>
/// The host's background service: runs this process's rank (<see cref="TrainingLoop"/>) with the
/// ICheckpointer of the host's ActorSystem, reports a failure as one line, and stops the host at the end.
/// </summary>
internal sealed class Trainer(RunOptions options, ICheckpointer checkpointer, Report report, ActorSystem system, IHostApplicationLifetime lifetime) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await new TrainingLoop(options, checkpointer, report).RunAsync(stoppingToken);
            if (options.Rank == 0) await OthersLeftAsync(system, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            report.Line($"stopped {options.Rank}");
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"rank {options.Rank}: {e}");
            report.Line($"error {options.Rank} {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}");
            Environment.ExitCode = 1;
        }
        finally
        {
            lifetime.StopApplication();
        }
    }

    /// <summary>
    /// Rank 0, the seed node and the cluster's oldest member, leaves last: once the others are
    /// removed, its own leave is immediate. (When every node leaves at once, the last leader may wait
    /// out coordinated shutdown's cluster-exiting timeout, 10 s by default.)
    /// </summary>
    private static async Task OthersLeftAsync(ActorSystem system, CancellationToken ct)
    {
        var cluster = Cluster.Get(system);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (cluster.State.Members.Any(m => m.Address != cluster.SelfAddress) && DateTime.UtcNow < deadline)
            await Task.Delay(50, ct);
    }

}
