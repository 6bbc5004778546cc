
namespace ActorCkpt.Cli.Train;

/// <summary>
/// Where the demo's data loader stands: the epoch, the next sample's place in the epoch's order,
/// and the host RNG's state when the epoch's order was drawn (the order is drawn again from it on
/// resume rather than stored).
/// </summary>
/// <param name="Epoch">The epoch.</param>
/// <param name="Position">The next sample's index in the epoch's order.</param>
/// <param name="EpochRng">The <see cref="HostRandom"/> state the epoch's order is drawn from.</param>
internal sealed record DataLoaderState(long Epoch, int Position, ulong[] EpochRng);

/// <summary>Global batches of sample indices in a shuffled order that changes each epoch; its state is a <see cref="DataLoaderState"/>.</summary>
internal sealed class ShuffledLoader
{
    private readonly int _samples;
    private readonly HostRandom _random;
    private int[] _order = Array.Empty<int>();

    /// <summary>A loader over <paramref name="samples"/> samples, its order drawn from <paramref name="seed"/>.</summary>
    public ShuffledLoader(int samples, ulong seed)
    {
        _samples = samples;
        _random = new HostRandom(seed);
        State = BeginEpoch(0);
    }

    /// <summary>Where the loader stands, to save.</summary>
    public DataLoaderState State { get; private set; }

    /// <summary>Puts the loader where <paramref name="state"/> says, drawing that epoch's order again.</summary>
    public void Restore(DataLoaderState state)
    {
        if (state.Position < 0 || state.Position > _samples)
            throw new ArgumentException($"data loader position {state.Position} is outside an epoch of {_samples} samples");
        _random.State = state.EpochRng;
        State = BeginEpoch(state.Epoch) with { Position = state.Position };
    }

    /// <summary>The next <paramref name="size"/> sample indices (an epoch's last batch is completed from the next epoch).</summary>
    public int[] Next(int size)
    {
        var batch = new int[size];
        for (var i = 0; i < size; i++)
        {
            if (State.Position == _samples) State = BeginEpoch(State.Epoch + 1);
            batch[i] = _order[State.Position];
            State = State with { Position = State.Position + 1 };
        }
        return batch;
    }

    /// <summary>Draws epoch <paramref name="epoch"/>'s order from the generator as it stands.</summary>
    private DataLoaderState BeginEpoch(long epoch)
    {
        var at = _random.State;
        _order = Enumerable.Range(0, _samples).ToArray();
        _random.Shuffle(_order);
        return new DataLoaderState(epoch, 0, at);
    }
}
