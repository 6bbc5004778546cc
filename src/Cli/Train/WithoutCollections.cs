using System.Runtime;

namespace ActorCkpt.Cli.Train;

/// <summary>
/// Runs a TorchSharp optimizer's step with no garbage collection. TorchSharp 0.107's optimizers make
/// implicit Scalars in every step (<c>add_(grad, alpha: 1 - beta1)</c>) and pass their handles to
/// libtorch without keeping them alive: a collection during the call may finalize one, and libtorch
/// then reads freed memory ("Expected false to be true … toFloat at c10/core/Scalar.h"). It ended a
/// `train` under load once. A no-GC region keeps every object of the step alive until it returns.
/// </summary>
internal static class WithoutCollections
{
    // Far more than a step allocates (a few small wrappers per parameter), with room for the actor
    // threads saving meanwhile: past it the runtime collects after all, and the region ends.
    private const long Budget = 64L << 20;

    // The region is the process's: one caller at a time starts and ends it.
    private static readonly object Gate = new();

    /// <summary>Runs <paramref name="action"/> inside a no-GC region (as it is when one cannot be had); callers on other threads wait their turn.</summary>
    public static void Run(Action action)
    {
        lock (Gate)
        {
            var started = GCSettings.LatencyMode != GCLatencyMode.NoGCRegion && GC.TryStartNoGCRegion(Budget);
            try
            {
                action();
            }
            finally
            {
                // Ended already when the budget ran out: the runtime collected, and the step went on.
                if (started && GCSettings.LatencyMode == GCLatencyMode.NoGCRegion) GC.EndNoGCRegion();
            }
        }
    }
}
