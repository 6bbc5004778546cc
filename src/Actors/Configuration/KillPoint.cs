using System.Diagnostics;
using Akka.Configuration;

namespace ActorCkpt;

/// <summary>
/// A moment of the save protocol at which a crash test makes the process kill itself with SIGKILL,
/// so the test can check that a crash exactly there loses nothing committed. Off in normal use.
/// </summary>
/// <param name="Point">The protocol phase (one of <see cref="Points"/>), or empty for never.</param>
/// <param name="Step">The step whose save dies there.</param>
internal sealed record KillPoint(string Point, long Step)
{
    /// <summary>The phases of the save protocol, in the order a save passes them.</summary>
    public static IReadOnlyList<string> SavePoints { get; } = new[]
    {
        "staged", "planned", "file-written", "all-written", "metadata-written", "renamed", "journaled", "tracker-moved", "deleting",
    };

    /// <summary>Phases only a save across nodes passes: <c>receiving</c>, a writer's node with the first bytes of a push from another node in hand.</summary>
    public static IReadOnlyList<string> TransferPoints { get; } = new[] { "receiving" };

    /// <summary>Every point: the save's phases, the transfer's, then <c>trained</c>, a training loop's end of a step (after its save was started).</summary>
    public static IReadOnlyList<string> Points { get; } = SavePoints.Concat(TransferPoints).Append("trained").ToArray();

    /// <summary>Never kill.</summary>
    public static KillPoint None { get; } = new("", -1);

    /// <summary>The kill point of the configuration; throws naming the key for an unknown phase.</summary>
    public static KillPoint Parse(string? point, long step) =>
        string.IsNullOrEmpty(point) ? None
        : Points.Contains(point) ? new KillPoint(point, step)
        : throw new ConfigurationException($"actorckpt.fault-injection.kill-at.point = '{point}': accepted values are {string.Join(", ", Points)}");

    /// <summary>Kills this process at once (SIGKILL: no cleanup, no flush) when this is the point and step reached.</summary>
    public void Reached(string point, long step)
    {
        if (point != Point || step != Step) return;
        Console.Error.WriteLine($"actorckpt: fault injection kills the process at '{point}' of step {step}");
        Process.GetCurrentProcess().Kill();
    }
}
