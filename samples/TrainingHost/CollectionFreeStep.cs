using System.Runtime;

namespace TrainingHost;

/// <summary>
/// Runs an optimizer's step with no garbage collection. TorchSharp 0.107's optimizers pass implicit
/// Scalars (<c>add_(grad, alpha: 1 - beta1)</c>) to libtorch without keeping them alive: a collection
/// during the call may finalize one, and the process then ends in libtorch ("toFloat at
/// c10/core/Scalar.h"), rarely and more often under load. A no-GC region keeps them alive until the step returns.
/// </summary>
internal static class CollectionFreeStep
{
    // Far more than a step allocates (a few wrappers per parameter), with room for the checkpointer's threads meanwhile.
    private const long Budget = 64L << 20;

    // The region is the process's: the ranks of one process take turns.
    private static readonly object Gate = new();

    /// <summary>Runs <paramref name="step"/> inside a no-GC region (or as it is, when none can be had).</summary>
    public static void Run(Action step)
    {
        lock (Gate)
        {
            var started = GCSettings.LatencyMode != GCLatencyMode.NoGCRegion && GC.TryStartNoGCRegion(Budget);
            try
            {
                step();
            }
            finally
            {
                // Ended already when the budget ran out: the runtime collected, and the step went on.
                if (started && GCSettings.LatencyMode == GCLatencyMode.NoGCRegion) GC.EndNoGCRegion();
            }
        }
    }
}
