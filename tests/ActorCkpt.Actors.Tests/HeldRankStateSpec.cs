using TorchSharp;

namespace ActorCkpt.Actors.Tests;

/// <summary>
/// What a save holds of its caller's state (<see cref="RankState.Hold"/>): the entries as they were, each tensor a
/// handle of its own on the caller's memory, outside the caller's dispose scope; released, only those handles go.
/// </summary>
public sealed class HeldRankStateSpec
{
    [Fact]
    public void A_held_state_should_read_the_callers_memory_through_its_own_handles_and_release_only_those()
    {
        using var w = torch.arange(6, dtype: torch.float32);
        var state = new RankState(0, 1).AddReplicated("w", w).AddJson("n", 1, ObjectScope.Global);
        var withGone = new RankState(0, 1).AddReplicated("gone", torch.ones(1));
        withGone.Tensors[0].Tensor.Dispose();

        RankState held;
        using (torch.NewDisposeScope())
        {
            held = state.Hold();
        }
        state.AddJson("later", 2, ObjectScope.Global);

        // Its own handle, on the same memory, not disposed with the scope it was made in; the entries as they were.
        var alias = held.Tensors.Single().Tensor;
        Assert.NotSame(w, alias);
        Assert.False(alias.IsInvalid);
        w[0] = torch.tensor(42f);
        Assert.Equal(42f, alias[0].item<float>());
        Assert.Equal(["n"], held.Objects.Select(o => o.Key));

        held.Release();
        Assert.True(alias.IsInvalid);
        Assert.False(w.IsInvalid);
        held.Release();

        // A tensor disposed before the call keeps its entry, for staging to name; nothing of the caller's is released.
        var heldGone = withGone.Hold();
        Assert.Same(withGone.Tensors[0].Tensor, heldGone.Tensors[0].Tensor);
        heldGone.Release();
        state.Release();
        Assert.False(w.IsInvalid);
    }
}
