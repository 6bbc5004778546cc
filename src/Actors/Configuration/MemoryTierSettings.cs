namespace ActorCkpt;

/// <summary>
/// The memory tier (<c>actorckpt.tiers.memory</c>; meaning and defaults of each key in
/// hocon/reference.conf and docs/memory-tier.md §1). Off by default: every save then goes to disk.
/// </summary>
/// <param name="Enabled">tiers.memory.enabled.</param>
/// <param name="Replicas">tiers.memory.replicas: copies of each shard on distinct hosts, own host first.</param>
/// <param name="BudgetBytes">tiers.memory.budget given as a size; 0 when given as a percentage.</param>
/// <param name="BudgetFraction">tiers.memory.budget given as a percentage of the tmpfs holding <paramref name="Directory"/> (0.5 for 50%); 0 when given as a size.</param>
/// <param name="KeepLast">tiers.memory.keep-last: most committed memory steps held; 0 bounds them by the budget only.</param>
/// <param name="KeepPersisted">tiers.memory.keep-persisted: off lets a step on disk leave memory once a newer one commits.</param>
/// <param name="Directory">tiers.memory.directory: where the replica files live (absolute; tmpfs).</param>
/// <param name="Host">tiers.memory.host: this node's failure domain, the machine name when not set.</param>
/// <param name="AckTimeout">tiers.memory.ack-timeout: a memory round's deadline for every holder's acknowledgement.</param>
/// <param name="LostAfter">tiers.memory.lost-after: a recorded host not announced this long after the planner starts (has recovered its catalog) is lost.</param>
/// <param name="ReReplicate">tiers.memory.re-replicate: shards under <paramref name="Replicas"/> copies get new copies on surviving hosts.</param>
/// <param name="VerifyFull">tiers.memory.verify-on-start = full: a holder re-hashes every replica before announcing it (headers only otherwise).</param>
internal sealed record MemoryTierSettings(
    bool Enabled,
    int Replicas,
    long BudgetBytes,
    double BudgetFraction,
    int KeepLast,
    bool KeepPersisted,
    string Directory,
    string Host,
    TimeSpan AckTimeout,
    TimeSpan LostAfter,
    bool ReReplicate,
    bool VerifyFull)
{
    /// <summary>
    /// tiers.memory.recycle-for: how long an evicted replica file waits, as a spare, for the host's next
    /// replicas to overwrite its pages before it is deleted; zero deletes evicted replicas at once.
    /// </summary>
    public TimeSpan RecycleFor { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The tier off, every other value its default.</summary>
    public static MemoryTierSettings Off { get; } = new(false, 2, 0, 0.5, 2, false, "/dev/shm/actorckpt", Environment.MachineName,
        TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(60), false, false);

    /// <summary>
    /// This host's budget in bytes: <see cref="BudgetBytes"/>, or <see cref="BudgetFraction"/> of
    /// <paramref name="tmpfsSizeBytes"/>, the size of the file system holding <see cref="Directory"/>.
    /// </summary>
    public long BudgetOn(long tmpfsSizeBytes) => BudgetBytes > 0 ? BudgetBytes : (long)(BudgetFraction * tmpfsSizeBytes);
}
