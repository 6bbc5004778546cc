using System.Text.Json;

namespace ActorCkpt.Io.Tests;

public class KeyTextSpec
{
    [Theory]
    [InlineData("layers.0.weight")]
    [InlineData("a/b c.\u00e9\u4e2d")]
    [InlineData("with \"quotes\" and a \\ inside")]
    public void A_key_that_reads_as_itself_should_be_written_as_it_is(string key) => Assert.Equal(key, KeyText.Of(key));

    [Theory]
    [InlineData("odd.newline\nx", "\"odd.newline\\nx\"")]
    [InlineData("odd.nul\0x", "\"odd.nul\\u0000x\"")]
    [InlineData("tab\tcr\r", "\"tab\\tcr\\r\"")]
    [InlineData("bidi\u202eevil", "\"bidi\\u202eevil\"")]
    [InlineData("sep\u2028", "\"sep\\u2028\"")]
    [InlineData("\"quoted\"", "\"\\\"quoted\\\"\"")]
    [InlineData("", "\"\"")]
    public void A_key_that_would_break_or_hide_its_line_should_be_a_json_string(string key, string written)
    {
        Assert.Equal(written, KeyText.Of(key));
        Assert.DoesNotContain('\n', written);
        // It reads back as the key.
        Assert.Equal(key, JsonSerializer.Deserialize<string>(written));
    }
}
