using System.Globalization;

namespace ActorCkpt.Cli.Demo;

/// <summary>
/// The configuration file a driver writes for its node processes (they read it at every start,
/// restarts included), named after the driver's process id: a driver killed outright cannot remove
/// its file, so each driver's start removes those of drivers no longer running. Process ids are per
/// pid namespace: drivers in containers that share one temporary directory but not their pids would
/// take each other's for dead (give each its own TMPDIR).
/// </summary>
internal static class NodeConfigFile
{
    private const string Prefix = "actorckpt-nodes-";

    /// <summary>Writes <paramref name="text"/> to a new file in <paramref name="directory"/>, removing first what dead drivers left there; its path.</summary>
    public static async Task<string> CreateAsync(string directory, string text)
    {
        RemoveLeftovers(directory);
        var path = Path.Combine(directory, $"{Prefix}{Environment.ProcessId}-{Guid.NewGuid():N}.conf");
        await File.WriteAllTextAsync(path, text);
        return path;
    }

    /// <summary>The process id of the driver that wrote <paramref name="fileName"/>; null for any other name.</summary>
    public static int? DriverOf(string fileName)
    {
        if (!fileName.StartsWith(Prefix, StringComparison.Ordinal) || !fileName.EndsWith(".conf", StringComparison.Ordinal)) return null;
        var rest = fileName[Prefix.Length..^".conf".Length];
        var dash = rest.IndexOf('-');
        return dash > 0 && int.TryParse(rest.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid > 0 ? pid : null;
    }

    private static void RemoveLeftovers(string directory)
    {
        foreach (var file in Directory.EnumerateFiles(directory, Prefix + "*.conf"))
        {
            if (DriverOf(Path.GetFileName(file)) is not { } pid || !ProcessLiveness.IsDead(pid)) continue;
            try
            {
                File.Delete(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Another driver's start removed it first, or it is not ours to remove: left as it was.
            }
        }
    }
}
