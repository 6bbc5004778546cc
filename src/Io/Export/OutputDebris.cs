using System.Diagnostics;
using System.Globalization;

namespace ActorCkpt;

/// <summary>
/// The hidden folders an export or unshard into <c>OUT</c> makes beside it, and what a later run
/// does with those a killed run left. <c>.OUT.actorckpt-partial-PID-RANDOM</c> is the folder being
/// written (renamed to <c>OUT</c> when complete); <c>.OUT.actorckpt-old-PID-RANDOM</c> is a previous
/// output moved aside, where an atomic swap is not available, for the moment between the two renames.
/// A folder whose process (PID) is gone is debris: a partial one is removed; an old one is renamed
/// back to <c>OUT</c> when <c>OUT</c> is missing (the run died between its two renames: the previous
/// output comes back whole) and removed otherwise. Folders of a live process are left alone: another
/// run may be writing them.
/// </summary>
internal static class OutputDebris
{
    /// <summary>The kind of a folder being written.</summary>
    public const string Partial = "partial";

    /// <summary>The kind of a previous output moved aside.</summary>
    public const string Old = "old";

    /// <summary>The name of a folder of kind <paramref name="kind"/> beside destination <paramref name="name"/>, made by process <paramref name="pid"/>.</summary>
    public static string Name(string name, string kind, int pid, string random) => $".{name}.actorckpt-{kind}-{pid}-{random}";

    /// <summary>The kind and process of <paramref name="entry"/> when it is one of <see cref="Name"/>'s names for <paramref name="name"/>, else null.</summary>
    public static (string Kind, int Pid)? Parse(string name, string entry)
    {
        var prefix = $".{name}.actorckpt-";
        if (!entry.StartsWith(prefix, StringComparison.Ordinal)) return null;
        var parts = entry[prefix.Length..].Split('-');
        if (parts.Length != 3 || parts[0] is not (Partial or Old) || parts[2].Length == 0 || !parts[2].All(char.IsAsciiHexDigitLower)) return null;
        return int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid > 0 ? (parts[0], pid) : null;
    }

    /// <summary>
    /// Settles the debris beside destination <paramref name="name"/> in <paramref name="parent"/>, as
    /// the type's summary says. Anything that is not a real folder (a link with such a name) is left alone.
    /// </summary>
    public static void Recover(string parent, string name)
    {
        if (!Directory.Exists(parent)) return;
        var debris = Directory.EnumerateDirectories(parent, ".*")
            .Select(path => (Path: path, Parsed: Parse(name, Path.GetFileName(path))))
            .Where(d => d.Parsed is { } p && !IsAlive(p.Pid) && RegularFile.Kind(d.Path) == FileKind.Directory)
            .OrderBy(d => d.Path, StringComparer.Ordinal)
            .ToList();
        if (debris.Count == 0) return;
        var destination = Path.Combine(parent, name);
        foreach (var (path, parsed) in debris)
        {
            if (parsed!.Value.Kind == Old && RegularFile.Kind(destination) == FileKind.Missing) AtomicRename.NoReplace(path, destination);
            else Directory.Delete(path, recursive: true);
        }
        AtomicRename.Sync(parent);
    }

    /// <summary>
    /// Whether a process <paramref name="pid"/> runs. This process's own id counts as gone: it made
    /// nothing yet when debris is settled, so such a folder is a dead earlier process's (a container's
    /// first process is pid 1 every time).
    /// </summary>
    private static bool IsAlive(int pid)
    {
        if (pid == Environment.ProcessId) return false;
        if (OperatingSystem.IsLinux()) return Directory.Exists($"/proc/{pid}");
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
