namespace ActorCkpt;

/// <summary>Hears how long work over bytes advances: totals as they become known, then each piece done (from any thread).</summary>
internal interface IByteProgress : IProgress<long>
{
    /// <summary>Adds <paramref name="bytes"/> to the work's total.</summary>
    void AddTotal(long bytes);
}
