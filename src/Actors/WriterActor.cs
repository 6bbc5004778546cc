using Akka.Actor;
using Akka.Event;
using ActorCkpt.Io;

namespace ActorCkpt.Actors;

/// <summary>
/// Writes data files. A failed attempt crashes the actor with <see cref="WriteFileException"/>;
/// its supervisor restarts it and the restarted writer re-sends itself the request after a
/// backoff, up to <see cref="ActorCkptSettings.MaxRetries"/> retries. The last failure is not
/// thrown but reported as <see cref="WriteFileFailure"/> naming the file and the cause.
/// </summary>
public sealed class WriterActor : ReceiveActor
{
    private readonly IBlobStore _store;
    private readonly ActorCkptSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    /// <summary>Creates the writer; use <see cref="Props"/>.</summary>
    public WriterActor(IBlobStore store, ActorCkptSettings settings)
    {
        _store = store;
        _settings = settings;
        Receive<WriteFile>(Write);
    }

    /// <summary>Props of a writer on the configured writer dispatcher.</summary>
    public static Props Props(IBlobStore store, ActorCkptSettings settings) =>
        Akka.Actor.Props.Create(() => new WriterActor(store, settings)).WithDispatcher(settings.WriterDispatcher);

    private void Write(WriteFile request)
    {
        var file = request.Plan.FileName;
        try
        {
            var metadata = new Dictionary<string, string>
            {
                ["format"] = "pt",
                ["actorckpt.step"] = request.Step.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["actorckpt.rank"] = request.Plan.Rank.ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
            var result = DataFileWriter.Write(_store, CheckpointLayout.StepDirectory(request.Step), request.Plan, request.Data,
                _settings.ChecksumBlockSize, metadata);
            request.ReplyTo.Tell(new WriteFileSuccess(request.Step, request.SaveId, result, request.Attempt));
        }
        catch (Exception e) when (request.Attempt <= _settings.MaxRetries)
        {
            _log.Warning("Write of {0} (step {1}) failed on attempt {2}: {3}; retrying", file, request.Step, request.Attempt, e.Message);
            throw new WriteFileException(file, request.Attempt, e);
        }
        catch (Exception e)
        {
            _log.Error(e, "Write of {0} (step {1}) failed on attempt {2}; giving up", file, request.Step, request.Attempt);
            request.ReplyTo.Tell(new WriteFileFailure(request.Step, request.SaveId, file, request.Attempt, $"{e.GetType().Name}: {e.Message}"));
        }
    }

    /// <summary>Schedules the retry of the request that failed, after its backoff.</summary>
    protected override void PreRestart(Exception reason, object message)
    {
        if (reason is WriteFileException && message is WriteFile failed)
        {
            // Not an IWithTimers timer: timers die with this instance, and the retry must reach the
            // restarted one. Never cancelled: if the writer stops for good, the retry dead-letters
            // and the planner's write deadline fails the save.
            var retry = failed with { Attempt = failed.Attempt + 1 };
            Context.System.Scheduler.ScheduleTellOnceCancelable(_settings.BackoffFor(failed.Attempt), Self, retry, ActorRefs.NoSender);
        }
        base.PreRestart(reason, message);
    }
}
