using System.Runtime.InteropServices;

namespace ActorCkpt.Cli;

/// <summary>
/// The tool's own process fixes glibc's mmap threshold. glibc raises that threshold each time it
/// frees a block it had mapped (up to 32 MiB); from then on blocks of that size come from its arenas
/// and stay with the process once freed. Tensors of a few MiB allocated and freed again and again (a
/// load's targets, the bench's runs, a node's states) then pile up: the replicated bench of 512 MiB on
/// 4 ranks peaked at 18.5 GB resident, 7.4 GB with the threshold fixed, and the same bench of 1 GiB
/// was killed for memory on 24 GB. A host embedding the library decides for its own process
/// (<c>MALLOC_MMAP_THRESHOLD_</c>; docs/operations.md).
/// </summary>
internal static class ProcessMalloc
{
    /// <summary>Blocks of at least this many bytes are mapped on their own, and unmapped when freed.</summary>
    public const int ThresholdBytes = 128 << 10;

    private const int MmapThresholdParameter = -3; // M_MMAP_THRESHOLD

    /// <summary>
    /// Fixes the threshold at <see cref="ThresholdBytes"/> on Linux, unless the environment already
    /// sets one (glibc read it at start); true when this call set it.
    /// </summary>
    public static bool FixMmapThreshold() =>
        OperatingSystem.IsLinux() && Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") is null
                                  && Mallopt(MmapThresholdParameter, ThresholdBytes) == 1;

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int Mallopt(int parameter, int value);
}
