
namespace ActorCkpt.Planner.Tests;

public class StateFlattenerSpec
{
    private static Dictionary<string, object> Nested() => new()
    {
        ["model"] = new Dictionary<string, object>
        {
            ["layers"] = new Dictionary<string, object>
            {
                ["0"] = new Dictionary<string, object> { ["weight"] = "w0", ["bias"] = "b0" },
                ["1"] = new Dictionary<string, object> { ["weight"] = "w1" },
            },
        },
        ["optimizer"] = new Dictionary<string, object> { ["step"] = 12L },
        ["iteration"] = 100,
    };

    [Fact]
    public void Flatten_should_join_levels_with_dots()
    {
        var flat = StateFlattener.Flatten(Nested());

        Assert.Equal(
            new[] { "iteration", "model.layers.0.bias", "model.layers.0.weight", "model.layers.1.weight", "optimizer.step" },
            flat.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("w1", flat["model.layers.1.weight"]);
        Assert.Equal(12L, flat["optimizer.step"]);
    }

    [Fact]
    public void Unflatten_should_invert_flatten()
    {
        var round = StateFlattener.Flatten(StateFlattener.Unflatten(StateFlattener.Flatten(Nested())));

        Assert.Equal(StateFlattener.Flatten(Nested()), round);
        var nested = StateFlattener.Unflatten(StateFlattener.Flatten(Nested()));
        var layers = (IReadOnlyDictionary<string, object>)((IReadOnlyDictionary<string, object>)nested["model"])["layers"];
        Assert.Equal("b0", ((IReadOnlyDictionary<string, object>)layers["0"])["bias"]);
    }

    [Fact]
    public void Names_with_the_separator_should_be_refused_naming_the_place()
    {
        var bad = new Dictionary<string, object> { ["model"] = new Dictionary<string, object> { ["a.b"] = 1 } };

        var e = Assert.Throws<ArgumentException>(() => StateFlattener.Flatten(bad));

        Assert.Equal("state name 'a.b' under 'model' contains '.': key 'model.a.b' would read as other levels", e.Message);
    }

    [Fact]
    public void Keys_with_empty_levels_should_flatten_back_as_they_were()
    {
        // Keys a flat state saves and loads: before, unflattened they flattened no more ("state name '' under 'a' is empty").
        var flat = new Dictionary<string, object> { ["a..b"] = 1, [".x"] = 2, ["y."] = 3, ["z"] = 4 };

        Assert.Equal(flat, StateFlattener.Flatten(StateFlattener.Unflatten(flat)));
    }

    [Fact]
    public void A_key_that_is_both_leaf_and_level_should_be_refused()
    {
        var flat = new Dictionary<string, object> { ["a"] = 1, ["a.b"] = 2 };

        Assert.Throws<ArgumentException>(() => StateFlattener.Unflatten(flat));
    }
}
