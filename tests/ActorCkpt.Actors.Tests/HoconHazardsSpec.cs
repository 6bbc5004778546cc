using Akka.Configuration;

namespace ActorCkpt.Actors.Tests;

/// <summary>
/// Texts on which Akka's HOCON parser never returns or overflows its stack are refused before it
/// sees them, naming the line; the project's own configurations and the usual forms pass.
/// </summary>
public class HoconHazardsSpec
{
    [Theory]
    [InlineData("akka.cluster.roles = [rank, writer = ]", 1, "'='")]
    [InlineData("a = 1\nactorckpt.tiers.memory.peers = [user@host]", 2, "'@'")]
    [InlineData("a = [x, $y]", 1, "'$'")]
    [InlineData("a = [\"x\" * 2]", 1, "'*'")]
    [InlineData("a = [ { b = 1 } : ]", 1, "':'")]
    public void A_character_where_no_array_value_starts_should_be_refused_naming_it_and_its_line(string hocon, int line, string character)
    {
        var refused = Assert.Throws<ConfigurationException>(() => HoconHazards.Check(hocon, "--config 'x.conf'"));

        Assert.Equal($"--config 'x.conf': line {line}: {character} where a value of an array should start, on which Akka's HOCON parser never returns: quote the value (\"...\") or close the array before it", refused.Message);
    }

    [Fact]
    public void Nesting_deeper_than_the_bound_should_be_refused_and_at_the_bound_pass()
    {
        var keys = string.Join('.', Enumerable.Repeat("a", HoconHazards.MaxDepth + 1)) + " = 1";
        var arrays = "a = " + new string('[', HoconHazards.MaxDepth) + new string(']', HoconHazards.MaxDepth);

        Assert.Equal("x: line 1: keys and arrays nested deeper than 64 levels", Assert.Throws<ConfigurationException>(() => HoconHazards.Check(keys, "x")).Message);
        Assert.Equal("x: line 1: keys and arrays nested deeper than 64 levels", Assert.Throws<ConfigurationException>(() => HoconHazards.Check(arrays, "x")).Message);
        var atBound = string.Join('.', Enumerable.Repeat("a", HoconHazards.MaxDepth)) + " = 1";
        HoconHazards.Check(atBound, "x");
        Assert.Equal(1, ConfigurationFactory.ParseString(atBound).GetInt(atBound[..^4]));
    }

    [Theory]
    [InlineData("a = ${a}", "${a} of 'a'")]
    [InlineData("a = ${b}\nb = ${a}", "${b} of 'a'")]
    [InlineData("a { x = ${b.y} }\nb = ${a}", "${b.y} of 'a.x'")]
    public void A_substitution_leading_back_to_itself_should_be_refused(string hocon, string which)
    {
        var refused = Assert.Throws<ConfigurationException>(() => HoconHazards.Check(hocon, "x"));

        Assert.Equal($"x: the substitution {which} leads back to itself, which Akka's HOCON parser resolves without end", refused.Message);
    }

    [Theory]
    [InlineData("a = 1\nactorckpt.writer.pool-size = ${?CKPT_X}", 2, "actorckpt.writer.pool-size")]
    [InlineData("x = 7\na { b = ${?x} }", 2, "a.b")]
    public void An_optional_substitution_should_be_refused_naming_its_key_and_line(string hocon, int line, string key)
    {
        // Before: refused as "the substitution ${} leads back to itself". Akka.NET leaves it unresolved,
        // even where the path is set, and the settings' walk over what it gives then never ended.
        var refused = Assert.Throws<ConfigurationException>(() => HoconHazards.Check(hocon, "x"));

        Assert.Equal($"x: line {line}: '{key}' is set to an optional substitution ${{?...}}, which Akka.NET's HOCON parser does not resolve (nor environment variables): write the value itself", refused.Message);
        Assert.Null(ConfigurationFactory.ParseString(hocon).GetString(key));
    }

    [Theory]
    [InlineData("akka.cluster.roles = [rank, writer]\nakka.cluster.seed-nodes = [\"akka.tcp://actorckpt@127.0.0.1:4053\"]")]
    [InlineData("a = [ { x = 1 }, { y = [1, 2,, 3] } ]\n# comment [ with = things\nb = \"\"\"[ = \"\"\" // and [ this")]
    [InlineData("base { keep-last = 2 }\nactorckpt.retention = ${base}\nactorckpt.root = ${HOME}x")]
    [InlineData("a = [1, 2] [3]\nb : \"x\\u0041\"\ninclude-me = 1")]
    public void The_usual_forms_should_pass(string hocon)
    {
        HoconHazards.Check(hocon, "x");
    }

    [Theory]
    [InlineData("reference.conf")]
    [InlineData("node.conf")]
    [InlineData("cluster.conf")]
    public void The_project_s_own_configurations_should_pass(string name)
    {
        var text = File.ReadAllText(Path.Combine(HoconFolder(), name));

        HoconHazards.Check(text, name);
        ConfigurationFactory.ParseString(text);
    }

    private static string HoconFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "ActorCkpt.sln")))
                return Path.Combine(dir.FullName, "hocon");
        throw new DirectoryNotFoundException($"no ActorCkpt.sln above {AppContext.BaseDirectory}");
    }
}
