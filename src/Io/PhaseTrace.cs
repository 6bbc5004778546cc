using System.Diagnostics;

namespace ActorCkpt;

// TEMPORARY: per-phase timestamps for profiling (ACTORCKPT_TRACE=1).
internal static class PhaseTrace
{
    private static readonly bool On = Environment.GetEnvironmentVariable("ACTORCKPT_TRACE") == "1";
    private static readonly long Start = Stopwatch.GetTimestamp();

    public static T Pass<T>(string what, T value) { Mark(what); return value; }

    public static void Mark(string what)
    {
        if (On) Console.Error.WriteLine($"[trace] {Stopwatch.GetElapsedTime(Start).TotalMilliseconds,10:F1} ms T{Environment.CurrentManagedThreadId,-3} {what}");
    }
}
