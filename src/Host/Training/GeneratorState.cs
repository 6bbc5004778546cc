using TorchSharp;

namespace ActorCkpt;

/// <summary>
/// A TorchSharp random generator's state (<c>get_state()</c>: the Mersenne twister's bytes on CPU).
/// Per rank by default, as each rank draws its own numbers; <see cref="ObjectScope.Global"/> for a
/// generator every rank keeps in step. A rank the checkpoint has no state for (a resume on more
/// ranks) keeps its generator as it is; <see cref="Restored"/> tells.
/// </summary>
public sealed class GeneratorState : IStateful
{
    private readonly torch.Generator? _generator;
    private readonly string _key;
    private readonly ObjectScope _scope;

    /// <summary>The state of <paramref name="generator"/>, or of TorchSharp's default CPU generator when null.</summary>
    public GeneratorState(torch.Generator? generator, string key, ObjectScope scope = ObjectScope.Rank)
    {
        _generator = generator;
        _key = key;
        _scope = scope;
    }

    /// <summary>Whether the last load set the generator's state.</summary>
    public bool Restored { get; private set; }

    /// <inheritdoc />
    public void Save(RankState state)
    {
        using var s = _generator is null ? torch.random.get_rng_state() : _generator.get_state();
        state.AddObject(_key, s.bytes.ToArray(), _scope);
    }

    /// <inheritdoc />
    public void PrepareLoad(RankState target, CheckpointMetadata saved) => Restored = false;

    /// <inheritdoc />
    /// <remarks>Refuses a step without the state of a global generator.</remarks>
    public void CheckRestore(LoadResult result)
    {
        if (!result.Objects.ContainsKey(_key) && _scope == ObjectScope.Global) throw Missing(result);
    }

    /// <inheritdoc />
    public void Restore(LoadResult result)
    {
        if (!result.Objects.TryGetValue(_key, out var bytes))
        {
            if (_scope == ObjectScope.Global) throw Missing(result);
            return;
        }
        using var s = torch.tensor(bytes, torch.ScalarType.Byte);
        if (_generator is null) torch.random.set_rng_state(s);
        else _generator.set_state(s);
        Restored = true;
    }

    private KeyNotFoundException Missing(LoadResult result) => new($"the checkpoint of step {result.Step} has no generator state '{_key}'");
}
