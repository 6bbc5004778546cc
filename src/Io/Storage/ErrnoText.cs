using System.Runtime.InteropServices;

namespace ActorCkpt;

/// <summary>An errno as an error line says it: the system's words first, the number for a search.</summary>
internal static class ErrnoText
{
    /// <summary><c>Too many open files (errno 24)</c>.</summary>
    public static string Of(int errno) => $"{Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})";
}
