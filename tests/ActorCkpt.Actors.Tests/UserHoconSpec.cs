using System.Runtime.InteropServices;
using Akka.Configuration;

namespace ActorCkpt.Actors.Tests;

/// <summary>The one door for HOCON a user wrote: brackets checked first, and any refusal naming where the text came from.</summary>
public class UserHoconSpec : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("actorckpt-userhocon-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Text_Akka_refuses_should_be_refused_naming_its_owner()
    {
        var refused = Assert.Throws<ConfigurationException>(() => UserHocon.Parse("a = ${missing.key}", "CheckpointerOptions.Hocon"));

        Assert.StartsWith("CheckpointerOptions.Hocon does not parse as HOCON: ", refused.Message);
        Assert.DoesNotContain('\n', refused.Message);
    }

    [Theory]
    [InlineData("include \"base.conf\"\n")]
    [InlineData("a = 1\ninclude file(\"/etc/actorckpt/base.conf\")\n")]
    [InlineData("a = 1\ninclude required(file(\"base.conf\"))\n")]
    [InlineData("actorckpt {\n  include url(\"http://127.0.0.1/base.conf\")\n}\n")]
    [InlineData("include classpath (\"base.conf\")\n")]
    public void An_include_should_be_refused_naming_its_line_as_a_file_the_parser_never_reads(string text)
    {
        // Before: "does not parse as HOCON: Object reference not set to an instance of an object." for the first,
        // and the others were read as nothing: the included settings (retention, a misspelled key) silently dropped.
        var refused = Assert.Throws<ConfigurationException>(() => UserHocon.Parse(text, "--config 'node.conf'"));

        var line = text.StartsWith("include", StringComparison.Ordinal) ? 1 : 2;
        Assert.Equal($"--config 'node.conf': line {line}: 'include' is not read here (Akka.NET's HOCON parser resolves no include in a text it is given): " +
                     "write the included settings into this text itself", refused.Message);
    }

    [Fact]
    public void Keys_and_values_that_only_begin_with_include_should_be_read_as_such()
    {
        var config = UserHocon.Parse("included = 1\ninclude-list = [file]\nnames { include = \"x\" }\nfiles = \"include file(x)\"\n", "x");

        Assert.Equal(1, config.GetInt("included"));
        Assert.Equal("x", config.GetString("names.include"));
        Assert.Equal("include file(x)", config.GetString("files"));
    }

    [Fact]
    public void Blank_text_should_be_the_empty_config_and_good_text_parsed()
    {
        Assert.True(UserHocon.Parse("  \n", "x").IsEmpty);
        Assert.Equal(3, UserHocon.Parse("actorckpt { retention { keep-last = 3 } }", "x").GetInt("actorckpt.retention.keep-last"));
    }

    [Fact]
    public void A_file_should_be_refused_naming_its_owner_and_path()
    {
        var file = Path.Combine(_dir, "node.conf");
        File.WriteAllText(file, "actorckpt.root = /r\nakka.cluster.roles = [rank, writer\n");

        var refused = Assert.Throws<ConfigurationException>(() => UserHocon.ReadFile(file, "--config"));

        Assert.Equal($"--config '{file}': line 2: '[' is never closed (a ']' is missing)", refused.Message);
        File.WriteAllText(file, "actorckpt.root = /r\n");
        Assert.Equal("actorckpt.root = /r\n", UserHocon.ReadFile(file, "--config"));
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int mkfifo([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode);

    [Fact]
    public void A_file_the_user_names_through_links_should_be_read_and_a_link_to_a_FIFO_refused_as_such()
    {
        // As a Kubernetes ConfigMap mounts it: node.conf -> ..data/node.conf -> ..2026_12_06/node.conf. Before, 'is a symbolic link, not a regular file'.
        var data = Directory.CreateDirectory(Path.Combine(_dir, "..2026_12_06")).FullName;
        File.WriteAllText(Path.Combine(data, "node.conf"), "actorckpt.retention.keep-last = 3\n");
        Directory.CreateSymbolicLink(Path.Combine(_dir, "..data"), data);
        var file = Path.Combine(_dir, "node.conf");
        File.CreateSymbolicLink(file, Path.Combine(_dir, "..data", "node.conf"));
        var fifo = Path.Combine(_dir, "fifo");
        Assert.Equal(0, mkfifo(fifo, 0b110_100_100));
        var toFifo = Path.Combine(_dir, "fifo.conf");
        File.CreateSymbolicLink(toFifo, fifo);

        Assert.Equal("actorckpt.retention.keep-last = 3\n", UserHocon.ReadFile(file, "--config"));
        Assert.Equal($"'{fifo}' is a FIFO, not a regular file", Assert.Throws<NotARegularFileException>(() => UserHocon.ReadFile(toFifo, "--config")).Message);
    }
}
