using ActorCkpt.Cli.Demo;

namespace ActorCkpt.Cli.Tests;

/// <summary>The demo's synthetic state refilled in place for a later step, as the node benches prepare each save.</summary>
public class SyntheticModelSpec
{
    [Theory]
    [InlineData("mixed")]
    [InlineData("sharded")]
    public void A_state_refilled_in_place_should_equal_a_new_one_and_keep_its_tensors(string layout)
    {
        var model = new SyntheticModel(1, 12, layout, 3);
        var first = model.BuildStates(3, step: 1);
        var tensors = first.SelectMany(s => s.Tensors.Select(t => t.Tensor)).ToArray();

        var refilled = model.BuildStates(3, step: 2, reuse: first);
        var fresh = model.BuildStates(3, step: 2);

        // The same tensor objects, now holding step 2's values byte for byte, and step 2's entries.
        Assert.Equal(tensors, refilled.SelectMany(s => s.Tensors.Select(t => t.Tensor)));
        foreach (var (a, b) in refilled.Zip(fresh))
        {
            Assert.Equal(b.Tensors.Select(t => (t.Key, t.Box.Offsets.ToArray())), a.Tensors.Select(t => (t.Key, t.Box.Offsets.ToArray())), new TupleComparer());
            foreach (var (x, y) in a.Tensors.Zip(b.Tensors)) Assert.True(x.Tensor.bytes.SequenceEqual(y.Tensor.bytes), $"rank {a.Rank}: '{x.Key}' differs");
            Assert.Equal(b.Objects.Select(o => (o.Key, Convert.ToHexString(o.Bytes))), a.Objects.Select(o => (o.Key, Convert.ToHexString(o.Bytes))));
        }
        Assert.Throws<ArgumentException>(() => model.BuildStates(2, step: 3, reuse: refilled));
        SyntheticModel.Dispose(refilled);
        SyntheticModel.Dispose(fresh);
    }

    private sealed class TupleComparer : IEqualityComparer<(string, long[])>
    {
        public bool Equals((string, long[]) x, (string, long[]) y) => x.Item1 == y.Item1 && x.Item2.SequenceEqual(y.Item2);

        public int GetHashCode((string, long[]) obj) => obj.Item1.GetHashCode();
    }
}
