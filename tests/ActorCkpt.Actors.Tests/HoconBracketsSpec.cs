using Akka.Configuration;

namespace ActorCkpt.Actors.Tests;

/// <summary>A configuration file's brackets checked before Akka's parser, which closes a section left open at the end by itself.</summary>
public class HoconBracketsSpec
{
    [Fact]
    public void A_section_never_closed_should_be_named_by_its_line()
    {
        // Akka takes it as though it were closed: the setting would apply, the lost brace unnoticed.
        Assert.Equal(1, ConfigurationFactory.ParseString("actorckpt.retention { keep-last = 1 \n").GetInt("actorckpt.retention.keep-last"));
        var refused = Assert.Throws<ConfigurationException>(() => HoconBrackets.Check("# run 7\nactorckpt.retention { keep-last = 1 \n", "--config 'x.conf'"));
        Assert.Equal("--config 'x.conf': line 2: '{' is never closed (a '}' is missing)", refused.Message);
        Assert.Equal("--config 'x.conf': line 1: '[' is never closed (a ']' is missing)",
            Assert.Throws<ConfigurationException>(() => HoconBrackets.Check("akka.cluster.roles = [rank, writer\n", "--config 'x.conf'")).Message);
        Assert.Equal("--config 'x.conf': line 2: '}' closes nothing opened before it",
            Assert.Throws<ConfigurationException>(() => HoconBrackets.Check("a = 1\n}\n", "--config 'x.conf'")).Message);
    }

    [Theory]
    [InlineData("actorckpt { retention { keep-last = 2 } }")]
    [InlineData("a = \"{ not a section\" # nor { this\n// nor { this\nb = [1, 2]")]
    [InlineData("a = \"\"\"{\n[\n\"\"\"\nb { c = \"\\\"}\" }")]
    public void Brackets_in_strings_and_comments_should_not_count(string hocon)
    {
        HoconBrackets.Check(hocon, "x");
        ConfigurationFactory.ParseString(hocon);
    }
}
