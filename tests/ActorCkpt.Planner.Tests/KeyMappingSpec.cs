namespace ActorCkpt.Planner.Tests;

public class KeyMappingSpec
{
    [Fact]
    public void Rules_should_apply_in_order_each_to_the_result_of_the_one_before()
    {
        var mapping = KeyMapping.FromJson("""{ "^transformer\\.": "x.", "^x\\.h\\.(\\d+)\\.": "model.layers.$1.", "\\.c_fc\\.": ".up_proj." }""", "test");

        Assert.Equal(3, mapping.Count);
        Assert.Equal("model.layers.11.mlp.up_proj.weight", mapping.Apply("transformer.h.11.mlp.c_fc.weight"));
        Assert.Equal("lm_head.weight", mapping.Apply("lm_head.weight"));
    }

    [Fact]
    public void Python_group_references_should_work_as_in_transformers()
    {
        var mapping = new KeyMapping(new Dictionary<string, string>
        {
            [@"^model\.layers\.(\d+)\.(?<part>attn|mlp)\."] = @"blocks.\1.\g<part>.",
        });

        Assert.Equal("blocks.7.mlp.weight", mapping.Apply("model.layers.7.mlp.weight"));
    }

    [Fact]
    public void Two_keys_mapped_to_one_name_should_fail_naming_both()
    {
        var mapping = new KeyMapping(new Dictionary<string, string> { [@"^(encoder|decoder)\."] = "" });

        var e = Assert.Throws<ActorCkptException>(() => mapping.Rename(new[] { "encoder.w", "decoder.w" }));
        Assert.Contains("'encoder.w'", e.Message);
        Assert.Contains("'decoder.w'", e.Message);
        Assert.Contains("'w'", e.Message);
    }

    [Fact]
    public void Bad_rules_should_fail_naming_what_is_wrong()
    {
        Assert.Contains("'(unclosed'", Assert.Throws<ActorCkptException>(() => new KeyMapping(new Dictionary<string, string> { ["(unclosed"] = "x" })).Message);
        Assert.Contains("'^a'", Assert.Throws<ActorCkptException>(() => KeyMapping.FromJson("""{ "^a": 3 }""", "m.json")).Message);
        Assert.Contains("m.json", Assert.Throws<ActorCkptException>(() => KeyMapping.FromJson("[1]", "m.json")).Message);
        Assert.Contains("'w'", Assert.Throws<ActorCkptException>(() => new KeyMapping(new Dictionary<string, string> { ["^w$"] = "" }).Rename(new[] { "w" })).Message);
    }
}
