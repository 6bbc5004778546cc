namespace ActorCkpt;

/// <summary>
/// Carries out the decisions of a <see cref="ShardSave{TActor}"/> that act in this process rather
/// than on other actors: the caller's <see cref="SaveHandle"/> (progress and verdict), the node's
/// <see cref="StagingPool"/> (the buffers given back) and the rank's <see cref="ReplicaMemory"/>.
/// The shard actor carries out the rest (messages, watches, timers).
/// </summary>
/// <param name="handle">The caller's handle of the save.</param>
/// <param name="staged">The save's staged state (its buffers, and its plan's fingerprint).</param>
/// <param name="step">The step, for the failure the caller sees.</param>
/// <param name="pool">The node's staging pool.</param>
/// <param name="replicas">The rank's memory of replicas written elsewhere.</param>
internal sealed class ShardSaveEffects(SaveHandle handle, StagedState staged, long step, StagingPool pool, ReplicaMemory replicas)
{
    /// <summary>The caller's handle of the save.</summary>
    public SaveHandle Handle { get; } = handle;

    /// <summary>
    /// The first exception the caller's <see cref="SaveHandle.Progressed"/> handlers threw, once (null
    /// otherwise): the save goes on regardless, and the rank warns of it.
    /// </summary>
    public Exception? TakeHandlerFailure() => Handle.TakeHandlerFailure();

    /// <summary>Carries out <paramref name="decision"/> if it acts in this process; false when it is not one of those.</summary>
    public bool Apply<TActor>(ShardSaveDecision<TActor> decision) where TActor : class
    {
        switch (decision)
        {
            case ShardSaveDecision<TActor>.SetBytesToWrite b: Handle.SetBytesToWrite(b.Bytes); break;
            case ShardSaveDecision<TActor>.AddBytesWritten b: Handle.AddWritten(b.Bytes); break;
            case ShardSaveDecision<TActor>.ReleaseBuffers: pool.Return(staged.Buffers); break;
            case ShardSaveDecision<TActor>.ForgetReplicas: replicas.Forget(); break;
            case ShardSaveDecision<TActor>.RememberWrittenElsewhere r: replicas.Remember(staged.Fingerprint, r.Positions); break;
            case ShardSaveDecision<TActor>.CompleteCommitted c: Handle.SetCommitted(c.Summary); break;
            case ShardSaveDecision<TActor>.CompleteFailed f: Handle.Fail(new CheckpointFailedException(step, f.Reason)); break;
            case ShardSaveDecision<TActor>.CompleteCancelled c:
                // Lingering first: a retry of the step, begun as soon as the caller hears, goes behind this save.
                if (c.SaveGoesOn) Handle.Linger(true);
                Handle.Cancel();
                break;
            default: return false;
        }
        return true;
    }
}
