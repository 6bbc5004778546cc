using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace ActorCkpt;

/// <summary>
/// Who holds a lock file: written beside it (<see cref="CheckpointLayout.LockHolderFile"/>) by the
/// process that took the lock, so a process refused the lock can say whom to stop. The lock itself
/// cannot be read while held (.NET's flock(2) refuses every other open), hence the separate file.
/// </summary>
/// <param name="ProcessId">The holder's process id.</param>
/// <param name="HostName">The machine it runs on (the root may be on shared storage).</param>
/// <param name="ProcessStarted">When that process started: tells it apart from a later process with a reused id.</param>
/// <param name="LockedAt">When it took the lock.</param>
/// <param name="Command">Its command line, shortened.</param>
internal sealed record LockHolder(int ProcessId, string HostName, DateTimeOffset ProcessStarted, DateTimeOffset LockedAt, string Command)
{
    private const int MaxCommandLength = 160;

    /// <summary>This process, taking a lock now.</summary>
    public static LockHolder Current()
    {
        using var self = Process.GetCurrentProcess();
        var args = Environment.GetCommandLineArgs();
        var command = string.Join(' ', args.Select((a, i) => i == 0 ? Path.GetFileName(a) : a));
        if (command.Length > MaxCommandLength) command = command[..MaxCommandLength] + "...";
        return new LockHolder(Environment.ProcessId, Environment.MachineName, self.StartTime.ToUniversalTime(), DateTimeOffset.UtcNow, command);
    }

    /// <summary>"pid 1234 on host h (actorckpt.dll node --config c, since 2026-12-03T07:10:00Z)".</summary>
    public string Describe() =>
        $"pid {ProcessId} on host {HostName} ({Command}, since {LockedAt.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)})";

    /// <summary>The record as the holder file stores it.</summary>
    public string ToJson() => JsonSerializer.Serialize(this);

    /// <summary>The record of a holder file, or null when it is not one (empty, cut short, or written by something else).</summary>
    public static LockHolder? Parse(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<LockHolder>(json) is { HostName: not null, Command: not null } holder ? holder : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
