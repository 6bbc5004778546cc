using Akka;
using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Microsoft.Extensions.Logging;
using LogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace ActorCkpt.Hosting;

/// <summary>
/// Starts ActorCkpt's actors once a host's ActorSystem is up (an Akka.Hosting actor starter),
/// hands the checkpointer to the <see cref="DeferredCheckpointer"/> that dependency injection gave
/// out, and has coordinated shutdown wait for the saves in flight before the system terminates.
/// </summary>
internal static class CheckpointerStartup
{
    /// <summary>Name of the coordinated-shutdown task that waits for the saves in flight.</summary>
    public const string FinishSavesTask = "actorckpt-finish-saves";

    /// <summary>Name of the coordinated-shutdown task, in the phase after, that fails the saves still in flight saying why.</summary>
    public const string CutOffSavesTask = "actorckpt-cut-off-saves";

    /// <summary>
    /// Starts ActorCkpt in <paramref name="system"/> over <paramref name="root"/> (its storage wrapped
    /// by <paramref name="wrapStore"/> when set) and completes <paramref name="deferred"/>; on failure fails it and throws.
    /// What the shutdown says of the saves in flight goes to <paramref name="hostLoggers"/> when given (see <see cref="ShutdownLog"/>).
    /// </summary>
    public static Checkpointer Start(ActorSystem system, string root, DeferredCheckpointer deferred, Func<IBlobStore, IBlobStore>? wrapStore = null,
        ILoggerFactory? hostLoggers = null)
    {
        Checkpointer checkpointer;
        try
        {
            var settings = ActorCkptSettings.Create(system);
            IBlobStore blobs = BlobStores.Open(root, settings.ObjectStore);
            // As Checkpointer.Start: a root another process holds is named at once, not at the first save.
            if (!system.IsClustered()) CatalogLock.EnsureFree(blobs);
            if (wrapStore is not null)
            {
                blobs = wrapStore(blobs);
                Checkpointer.StopWithSystem(system, blobs);
            }
            checkpointer = Checkpointer.Attach(system, blobs, settings);
            // The save's code paths and the planner's recovery warm in the background (see CheckpointNode.WarmUpAsync).
            _ = checkpointer.Node.WarmUpAsync(settings.PlanTimeout);
            // As Checkpointer.Start: a planner that cannot start (a lock another checkpointer took since
            // the check above, its journal) fails the host's start, not its first save. Waited for on the
            // thread pool: a caller's single-threaded synchronization context would deadlock it.
            if (!system.IsClustered() && PlannerGaveUp(checkpointer, settings) is { } why)
                throw new ActorCkptException(why);
        }
        catch (Exception e)
        {
            deferred.SetFailed(e);
            throw;
        }
        var log = Logging.GetLogger(system, typeof(Checkpointer));
        var shutdownLog = new ShutdownLog(log, hostLoggers?.CreateLogger(typeof(Checkpointer).FullName!));
        CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseBeforeServiceUnbind, FinishSavesTask, async () =>
        {
            // Saves that ended before the shutdown were their callers' to hear: only those still in flight are told here.
            await checkpointer.FinalizeAsync(blocking: false);
            var finishing = checkpointer.FinalizeAsync(blocking: true);
            // The host's own shutdown timeout, or its stop's token, ends the wait too: the host stops waiting for this system then.
            if (await Task.WhenAny(finishing, deferred.StopsWaiting) != finishing)
            {
                shutdownLog.Warning($"ActorCkpt: the host stops waiting ({deferred.StopsWaiting.Result}): the saves still in flight are cut off");
                return Done.Instance;
            }
            var ended = await finishing;
            foreach (var outcome in ended.Where(o => o.Status != SaveStatus.Committed))
                shutdownLog.Warning($"ActorCkpt: the save of step {outcome.Step} on rank {outcome.Rank} {outcome.Status}: {outcome.Reason}");
            shutdownLog.Info($"ActorCkpt: {ended.Count} saves in flight at shutdown ended, {ended.Count(o => o.Status == SaveStatus.Committed)} committed");
            // As a disposed checkpointer does: the journal writes those saves asked for land before the system goes.
            await checkpointer.JournalWritesEndedAsync();
            return Done.Instance;
        });
        // Reached once the wait above is over or its phase timed out: a save still in flight when its
        // shard actor stops (at the system's termination) is cut off, and its caller hears why rather
        // than that a shard actor stopped. Until then it goes on, and may still commit.
        var finishFor = system.Settings.Config.GetTimeSpan("akka.coordinated-shutdown.phases.before-service-unbind.timeout", TimeSpan.Zero, allowInfinite: true);
        CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseServiceUnbind, CutOffSavesTask, () =>
        {
            var why = deferred.StopsWaiting.IsCompleted
                ? $"the host shut down, and {deferred.StopsWaiting.Result} before this save ended"
                : $"the host shut down, and its wait for saves in flight (ActorCkptOptions.FinishSavesTimeout, the before-service-unbind phase's timeout: {finishFor.TotalSeconds:0.###}s) ran out before this save ended";
            checkpointer.Node.CutOffSaves(why);
            // Said here, in a phase the shutdown waits for: the saves' own failures come at the
            // system's termination, when the host may have stopped listening.
            if (checkpointer.Node.SavesInFlight() is { Count: > 0 } cut)
                shutdownLog.Warning($"ActorCkpt: {cut.Count} saves still in flight are cut off ({string.Join(", ", cut.Select(s => $"step {s.Step} on rank {s.Rank}"))}): {why}");
            return Task.FromResult(Done.Instance);
        });
        // Calls still waiting when the system goes away fail instead of waiting for ever.
        system.WhenTerminated.ContinueWith(_ => deferred.SetFailed(new ObjectDisposedException(null, $"the ActorSystem '{system.Name}' ActorCkpt ran in has terminated")),
            TaskScheduler.Default);
        WarnOfMissingPieces(system, log);
        deferred.SetReady(checkpointer);
        log.Info("ActorCkpt started over {0} (catalog journal {1})", checkpointer.Node.Store.Blobs.Root, ActorCkptConfig.JournalPluginId);
        return checkpointer;
    }

    /// <summary>
    /// Why the planner could not start, once it has started or given up; null when it runs, or is
    /// still starting after the plan timeout (a catalog server slow to answer: saves wait for it then).
    /// </summary>
    private static string? PlannerGaveUp(Checkpointer checkpointer, ActorCkptSettings settings)
    {
        try
        {
            return Task.Run(() => checkpointer.Node.PlannerGaveUpAsync(settings.PlanTimeout)).GetAwaiter().GetResult();
        }
        catch (AskTimeoutException)
        {
            return null;
        }
    }

    /// <summary>A cluster node that will never save or never join gets a line naming what is missing and the fix.</summary>
    private static void WarnOfMissingPieces(ActorSystem system, ILoggingAdapter log)
    {
        if (!system.IsClustered()) return;
        var roles = Cluster.Get(system).SelfRoles;
        if (!roles.Contains(ClusterRoles.Rank) && !roles.Contains(ClusterRoles.Writer) && !roles.Contains(ClusterRoles.Planner))
            log.Warning("ActorCkpt: this node has none of the roles '{0}', '{1}', '{2}' (it has [{3}]), so it neither saves, writes nor plans: " +
                        "add them to its roles (ClusterOptions.Roles, or akka.cluster.roles)", ClusterRoles.Rank, ClusterRoles.Writer, ClusterRoles.Planner, string.Join(", ", roles));
        if (system.Settings.Config.GetStringList("akka.cluster.seed-nodes").Count == 0)
            log.Warning("ActorCkpt: akka.cluster.seed-nodes is empty, so this node joins no cluster and saves wait until something calls Cluster.Join: " +
                        "set ClusterOptions.SeedNodes (the first seed node lists its own address)");
    }

    /// <summary>
    /// The lines a shutdown writes about the saves in flight. Akka's log reaches the host's loggers
    /// through a logger actor, and a system that terminates right after can stop that actor before
    /// it has passed them on (akka.net #615, #4045): the lines that say which saves a shutdown cut
    /// off would be lost exactly then. So in a host they go to its own logger, at once.
    /// </summary>
    private sealed class ShutdownLog(ILoggingAdapter akka, Microsoft.Extensions.Logging.ILogger? host)
    {
        public void Warning(string line) => Write(LogLevel.Warning, line);

        public void Info(string line) => Write(LogLevel.Information, line);

        private void Write(LogLevel level, string line)
        {
            if (host is null)
            {
                if (level == LogLevel.Warning) akka.Warning("{0}", line);
                else akka.Info("{0}", line);
                return;
            }
            try
            {
                host.Log(level, "{Line}", line);
            }
            catch (ObjectDisposedException)
            {
                // A line past the host's stop (a save's end after the wait ran out): its loggers are gone.
            }
        }
    }
}
