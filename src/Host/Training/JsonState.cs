
namespace ActorCkpt;

/// <summary>
/// A plain value saved as JSON: the trainer's counters (<see cref="TrainingProgress"/>), a data
/// loader's position, a host RNG's state. Global values must be in the checkpoint; a per-rank value
/// the checkpoint has no copy of for this rank (a resume on more ranks) keeps <see cref="Value"/>,
/// and <see cref="Restored"/> tells.
/// </summary>
/// <typeparam name="T">The value's type (System.Text.Json serializable).</typeparam>
public sealed class JsonState<T> : IStateful
{
    private readonly string _key;
    private readonly ObjectScope _scope;

    /// <summary>A value under <paramref name="key"/>, one for the job or one per rank as <paramref name="scope"/> says.</summary>
    public JsonState(string key, T value, ObjectScope scope)
    {
        _key = key;
        _scope = scope;
        Value = value;
    }

    /// <summary>The value: what a save writes, and what the last load read.</summary>
    public T Value { get; set; }

    /// <summary>Whether the last load set <see cref="Value"/>.</summary>
    public bool Restored { get; private set; }

    /// <inheritdoc />
    public void Save(RankState state) => state.AddJson(_key, Value, _scope);

    /// <inheritdoc />
    public void PrepareLoad(RankState target, CheckpointMetadata saved) => Restored = false;

    /// <inheritdoc />
    public void Restore(LoadResult result)
    {
        if (_scope == ObjectScope.Rank && !result.Objects.ContainsKey(_key)) return;
        Value = result.Json<T>(_key);
        Restored = true;
    }
}
