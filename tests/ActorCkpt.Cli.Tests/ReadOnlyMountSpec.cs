using static ActorCkpt.Cli.Tests.ToolRun;

namespace ActorCkpt.Cli.Tests;

/// <summary>
/// A root on a file system mounted read-only (a bind mount this spec makes and removes): every
/// reading command works on it, and a command that would write fails in one line naming the
/// read-only file system.
/// </summary>
public sealed class ReadOnlyMountSpec : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly string _mount;
    private bool _mounted;

    public ReadOnlyMountSpec()
    {
        _mount = Path.Combine(_temp.Path, "mnt");
        Directory.CreateDirectory(Path.Combine(_temp.Path, "src"));
        Directory.CreateDirectory(_mount);
    }

    public void Dispose()
    {
        if (_mounted) Mount("umount", _mount);
        _temp.Dispose();
    }

    [MountFact]
    public async Task On_a_read_only_root_gc_and_a_save_should_exit_1_in_one_line_and_verify_still_read_it()
    {
        Assert.Equal(0, (await RunAsync("demo", "--dir", Path.Combine(_temp.Path, "src", "R"), "--size-mb", "1", "--tensors", "4", "--ranks", "1", "--steps", "1")).Exit);
        Mount("mount", "--bind", Path.Combine(_temp.Path, "src"), _mount);
        _mounted = true;
        Mount("mount", "-o", "remount,ro,bind", _mount);
        var root = Path.Combine(_mount, "R");

        var gc = await RunAsync("gc", root);
        var verify = await RunAsync("verify", root);
        var save = await RunAsync("demo", "--dir", root, "--size-mb", "1", "--tensors", "4", "--ranks", "1", "--steps", "1");

        // Before, gc printed the stand-in planner's refusal as "could not remove ...", then "no debris" and its report, on stdout.
        Assert.Equal((1, ""), (gc.Exit, gc.Out));
        Assert.Equal($"actorckpt: gc changes nothing on a read-only root: the checkpoint root '{root}' is read-only (Read-only file system : '{Path.Combine(root, "catalog.lock")}'): checkpoints can be loaded from it, not saved to it\n", gc.Err);
        Assert.Equal(0, verify.Exit);
        Assert.Contains("OK step 1", verify.Out);
        Assert.Equal((1, $"actorckpt: save of step 2 failed: the checkpoint root '{root}' is read-only (Read-only file system : '{Path.Combine(root, "catalog.lock")}'): checkpoints can be loaded from it, not saved to it\n"), (save.Exit, save.Err));
    }

    private static void Mount(string command, params string[] args)
    {
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(command, args) { RedirectStandardError = true })!;
        var err = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{command} {string.Join(' ', args)}: {err.Trim()}");
    }

    /// <summary>Null when this process can make a bind mount (tried once, on scratch folders); otherwise why not.</summary>
    private static readonly Lazy<string?> WhyNoMounts = new(() =>
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root") return "bind mounts need root on Linux";
        var scratch = Directory.CreateTempSubdirectory("actorckpt-mount-probe-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(scratch, "a"));
            Directory.CreateDirectory(Path.Combine(scratch, "b"));
            Mount("mount", "--bind", Path.Combine(scratch, "a"), Path.Combine(scratch, "b"));
            Mount("umount", Path.Combine(scratch, "b"));
            return null;
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return $"no bind mounts here: {e.Message}";
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    });

    /// <summary>A test that needs to make bind mounts: skipped, saying why, where this process may not.</summary>
    private sealed class MountFactAttribute : FactAttribute
    {
        public MountFactAttribute()
        {
            if (WhyNoMounts.Value is { } why) Skip = why;
        }
    }
}
