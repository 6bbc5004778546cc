using System.Diagnostics;
using System.Globalization;
using Akka.Actor;

namespace ActorCkpt;

/// <summary>
/// A writer's retries waiting out their backoff: the retry a failed attempt calls for, and which
/// retries are armed and not yet over. Each incarnation of a <see cref="WriterActor"/> keeps one;
/// a restart hands <see cref="Armed"/> to the next incarnation (timers die with the instance that
/// armed them). No actor in it: the writer arms the timers it says.
/// </summary>
/// <param name="settings">Where the backoffs come from (<see cref="ActorCkptSettings.BackoffFor"/>).</param>
internal sealed class WriteBackoffs(ActorCkptSettings settings)
{
    private readonly Dictionary<string, RetryBackoff> _armed = new(StringComparer.Ordinal);

    /// <summary>The retries armed and not over, to hand to the next incarnation on a restart.</summary>
    public IReadOnlyCollection<RetryBackoff> Armed => _armed.Values;

    /// <summary>
    /// The retry of <paramref name="failed"/> (a <see cref="WriteFile"/> or a
    /// <see cref="WriteFileStreamed"/> whose attempt failed), its backoff starting now; null for
    /// anything else. A local file is tried again by <paramref name="writer"/> itself; a streamed
    /// one is asked of its shard again (<see cref="ResendDue"/>), as its stream is spent.
    /// </summary>
    public RetryBackoff? RetryOf(object? failed, IActorRef writer)
    {
        switch (failed)
        {
            case WriteFile write:
                var again = write with { Attempt = write.Attempt + 1 };
                return new RetryBackoff(Key(write.SaveId, write.Plan.FileName, again.Attempt), again, Stopwatch.GetTimestamp(),
                    settings.BackoffFor(write.Attempt));
            case WriteFileStreamed streamed:
                var key = Key(streamed.SaveId, streamed.Plan.FileName, streamed.Attempt + 1);
                var resend = new ResendWrite(streamed.Step, streamed.SaveId, streamed.Plan.FileName, writer, streamed.Attempt + 1, streamed.Replica);
                return new RetryBackoff(key, new ResendDue(key, streamed.ReplyTo, resend), Stopwatch.GetTimestamp(), settings.BackoffFor(streamed.Attempt));
            default:
                return null;
        }
    }

    /// <summary>Records <paramref name="backoff"/> as armed; returns what remains of it (zero once over), the timer's delay.</summary>
    public TimeSpan Arm(RetryBackoff backoff)
    {
        _armed[backoff.Key] = backoff;
        var remaining = backoff.Backoff - Stopwatch.GetElapsedTime(backoff.Since);
        return remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero;
    }

    /// <summary>The backoff of the timer <paramref name="key"/> is over (its retry arrived); no-op for a key never armed.</summary>
    public void Over(string key) => _armed.Remove(key);

    /// <summary>The timer key of attempt <paramref name="attempt"/> at a file: one timer per file and attempt.</summary>
    public static string Key(Guid saveId, string file, int attempt) =>
        string.Create(CultureInfo.InvariantCulture, $"{saveId:N}/{file}/{attempt}");
}
