using System.Diagnostics;

namespace ActorCkpt.Actors.Tests;

/// <summary>A small tmpfs mounted for one test (needs root and mount permission), unmounted on dispose.</summary>
internal sealed class Tmpfs : IDisposable
{
    private static readonly Lazy<string?> WhyNot = new(Probe);

    public Tmpfs(long bytes)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "actorckpt-tmpfs-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
        if (Run("mount", "-t", "tmpfs", "-o", $"size={bytes}", "tmpfs", Path) is { } error)
            throw new InvalidOperationException("cannot mount tmpfs: " + error);
    }

    public string Path { get; }

    /// <summary>Null when this machine lets a test mount a tmpfs; otherwise why not.</summary>
    public static string? Unavailable => WhyNot.Value;

    public void Dispose()
    {
        // Lazy: detached at once even if a file in it is still open; freed when that closes.
        Run("umount", "-l", Path);
        Directory.Delete(Path, recursive: true);
    }

    private static string? Probe()
    {
        try
        {
            using var probe = new Tmpfs(1 << 20);
            return null;
        }
        catch (Exception e)
        {
            return e.Message;
        }
    }

    private static string? Run(string command, params string[] args)
    {
        var psi = new ProcessStartInfo(command) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode == 0 ? null : $"{command} exited {p.ExitCode}: {err.Trim()}";
    }
}

/// <summary>A fact that runs only where a test can mount a tmpfs; elsewhere it is skipped, saying why.</summary>
internal sealed class TmpfsFactAttribute : FactAttribute
{
    public TmpfsFactAttribute()
    {
        if (Tmpfs.Unavailable is { } why) Skip = "no real full disk here (" + why + "); the fault-injecting store covers ENOSPC";
    }
}
