using ActorCkpt.Actors;
using ActorCkpt.Host.Training;
using ActorCkpt.Planner;

namespace ActorCkpt.Host;

/// <summary>
/// What training code needs of ActorCkpt: save and load a rank's state, wait for saves, ask
/// whether any rank still has one in flight. <see cref="Checkpointer"/> implements it; a generic
/// host hands one out by dependency injection (<see cref="Hosting.ActorCkptServiceCollectionExtensions.AddActorCkpt"/>).
/// </summary>
public interface ICheckpointer
{
    /// <summary>The newest committed step, or null.</summary>
    long? LatestStep { get; }

    /// <summary>The node's settings (from its HOCON), including the crash-test kill point a training loop honours.</summary>
    ActorCkptSettings Settings { get; }

    /// <summary>Starts saving <paramref name="state"/> as <paramref name="step"/>; see <see cref="Checkpointer.SaveAsync(long, RankState)"/>.</summary>
    SaveHandle SaveAsync(long step, RankState state);

    /// <summary>Starts saving <paramref name="state"/> as <paramref name="step"/> without a staged copy; see <see cref="Checkpointer.SaveInPlaceAsync(long, RankState)"/>.</summary>
    SaveHandle SaveInPlaceAsync(long step, RankState state);

    /// <summary>Starts saving the <paramref name="parts"/> of rank <paramref name="rank"/> (of <paramref name="worldSize"/>) as <paramref name="step"/>.</summary>
    SaveHandle SaveAsync(long step, int rank, int worldSize, IEnumerable<IStateful> parts);

    /// <summary>Loads step <paramref name="step"/> (newest when null) into <paramref name="target"/>, resharding as needed; <paramref name="progress"/> hears the destination bytes each read filled.</summary>
    Task<LoadResult> LoadAsync(RankState target, long? step = null, StrictHandling? strict = null, IProgress<long>? progress = null);

    /// <summary>Loads step <paramref name="step"/> (newest when null) into the <paramref name="parts"/> of rank <paramref name="rank"/> (of <paramref name="worldSize"/>).</summary>
    Task<LoadResult> LoadAsync(int rank, int worldSize, IEnumerable<IStateful> parts, long? step = null, StrictHandling? strict = null, IProgress<long>? progress = null);

    /// <summary>How the saves that ended since the last call ended; with <paramref name="blocking"/>, after every save in flight has ended.</summary>
    Task<IReadOnlyList<SaveOutcome>> FinalizeAsync(bool blocking);

    /// <summary>True when no rank has a save in flight: the same answer on every rank, each of which must ask.</summary>
    Task<bool> IsQueueEmptyAsync(int rank, int worldSize, TimeSpan timeout);
}
