using System.Diagnostics;
using System.Runtime.InteropServices;

namespace ActorCkpt;

/// <summary>Whether a process id on this machine belongs to no running process: files a dead writer left may go.</summary>
internal static partial class ProcessLiveness
{
    private const int Esrch = 3;

    /// <summary>
    /// True only when no process <paramref name="pid"/> exists (kill(pid, 0) gives ESRCH): a process
    /// of another user (EPERM) is alive. Pids are per pid namespace: writers in other containers
    /// sharing the directory must share the pid namespace too.
    /// </summary>
    public static bool IsDead(int pid)
    {
        if (pid <= 0) return false;
        if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
            return Kill(pid, 0) != 0 && Marshal.GetLastPInvokeError() == Esrch;
        try
        {
            using var process = Process.GetProcessById(pid);
            return false;
        }
        catch (ArgumentException)
        {
            return true;
        }
    }

    /// <summary>kill(2): signal 0 only asks whether the process exists.</summary>
    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
