
namespace ActorCkpt;

/// <summary>
/// A part of a training job that goes into a checkpoint (a model, an optimizer, a scheduler, an
/// RNG, the trainer's counters), as DCP's <c>Stateful</c>: it adds its entries to a rank's state
/// for a save, adds its destinations for a load, and takes back what the load returned.
/// </summary>
public interface IStateful
{
    /// <summary>Adds this part's entries to <paramref name="state"/>: live tensors, which the save stages (copies) before training may change them.</summary>
    void Save(RankState state);

    /// <summary>
    /// Adds the tensors a load fills to <paramref name="target"/> (live tensors are filled in place).
    /// <paramref name="saved"/> describes the step being loaded, for entries that exist only
    /// sometimes (a momentum buffer before the first step): every tensor's key, dtype and shape and
    /// every entry, but no chunks (a rank reads only the chunks of its own load).
    /// </summary>
    void PrepareLoad(RankState target, CheckpointMetadata saved);

    /// <summary>
    /// Checks that the non-tensor entries of <paramref name="result"/> fit this part (a state of the
    /// same optimizer or scheduler, the same grouping) and throws naming what does not. A load calls it
    /// once the entries are read and before it fills any tensor, so that a refused load leaves every
    /// part as it was; <see cref="Restore"/> follows only if every part's check passed. By default nothing is checked.
    /// </summary>
    void CheckRestore(LoadResult result)
    {
    }

    /// <summary>Applies the non-tensor entries of <paramref name="result"/> once the tensors are filled.</summary>
    void Restore(LoadResult result);
}
