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
    [InlineData("arabic-mark\u061c", "\"arabic-mark\\u061c\"")]
    [InlineData("zero\u200bwidth\ufeff", "\"zero\\u200bwidth\\ufeff\"")]
    [InlineData("\"quoted\"", "\"\\\"quoted\\\"\"")]
    [InlineData("", "\"\"")]
    public void A_key_that_would_break_or_hide_its_line_should_be_a_json_string(string key, string written)
    {
        Assert.Equal(written, KeyText.Of(key));
        Assert.DoesNotContain('\n', written);
        // It reads back as the key.
        Assert.Equal(key, JsonSerializer.Deserialize<string>(written));
    }

    [Fact]
    public void A_verify_finding_should_be_one_line_whatever_keys_its_problem_quotes()
    {
        // The problem text quotes keys and header entries too (StepConsistency.CheckHeader); before, only key= was escaped.
        var finding = new VerificationFailure("r0.safetensors", "odd\nx", "the header has no entry 'odd\nx' for entry 'odd\nx'\u0000").ToString();

        Assert.Equal("BAD file=r0.safetensors key=\"odd\\nx\": the header has no entry 'odd\\nx' for entry 'odd\\nx'\\u0000", finding);
        Assert.Equal("BAD file=r0.safetensors key=(file): 12 bytes, metadata says 13", new VerificationFailure("r0.safetensors", "(file)", "12 bytes, metadata says 13").ToString());
    }
}
