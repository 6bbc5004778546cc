
namespace ActorCkpt;

/// <summary>
/// A plain value saved as JSON: the trainer's counters (<see cref="TrainingProgress"/>), a data
/// loader's position, a host RNG's state. Global values must be in the checkpoint; a per-rank value
/// the checkpoint has no copy of for this rank (a resume on more ranks) keeps <see cref="Value"/>,
/// and <see cref="Restored"/> tells.
/// </summary>
/// <typeparam name="T">The value's type (System.Text.Json serializable).</typeparam>
/// <param name="key">The value's key in the checkpoint.</param>
/// <param name="value">The value until a load sets it.</param>
/// <param name="scope">One value for the job (<see cref="ObjectScope.Global"/>) or one per rank.</param>
public sealed class JsonState<T>(string key, T value, ObjectScope scope) : IStateful
{
    /// <summary>The value: what a save writes, and what the last load read.</summary>
    public T Value { get; set; } = value;

    /// <summary>Whether the last load set <see cref="Value"/>.</summary>
    public bool Restored { get; private set; }

    /// <inheritdoc />
    public void Save(RankState state) => state.AddJson(key, Value, scope);

    /// <inheritdoc />
    public void PrepareLoad(RankState target, CheckpointMetadata saved) => Restored = false;

    /// <inheritdoc />
    /// <remarks>Refuses a global value the step lacks, and a value that does not read as <typeparamref name="T"/>.</remarks>
    public void CheckRestore(LoadResult result)
    {
        if (scope == ObjectScope.Rank && !result.Objects.ContainsKey(key)) return;
        _ = result.Json<T>(key);
    }

    /// <inheritdoc />
    public void Restore(LoadResult result)
    {
        if (scope == ObjectScope.Rank && !result.Objects.ContainsKey(key)) return;
        Value = result.Json<T>(key);
        Restored = true;
    }
}
