using System.Runtime.InteropServices;
using ActorCkpt.Hosting;

namespace ActorCkpt.Host.Tests;

/// <summary>A host's configuration file is read as a regular file only, with a size bound, and never waited on.</summary>
public class UntrustedConfigSpec : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [DllImport("libc", SetLastError = true)]
    private static extern int mkfifo([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode);

    [Fact]
    public async Task A_FIFO_or_an_oversized_HoconFile_should_be_refused_at_once_naming_it()
    {
        Directory.CreateDirectory(_temp.Path);
        var fifo = Path.Combine(_temp.Path, "fifo.conf");
        Assert.Equal(0, mkfifo(fifo, 0b110_100_100));
        var large = Path.Combine(_temp.Path, "large.conf");
        using (var f = new FileStream(large, FileMode.Create, FileAccess.Write)) f.SetLength(1L << 30); // sparse

        var pipe = await Assert.ThrowsAsync<NotARegularFileException>(() =>
            Task.Run(() => new ActorCkptOptions { Root = _temp.Path, HoconFile = fifo }.ToConfig()).WaitAsync(Deadline));
        var big = await Assert.ThrowsAsync<CheckpointFormatException>(() =>
            Task.Run(() => new ActorCkptOptions { Root = _temp.Path, HoconFile = large }.ToConfig()).WaitAsync(Deadline));

        Assert.Equal($"'{fifo}' is a FIFO, not a regular file", pipe.Message);
        Assert.Equal($"'{large}': is 1073741824 bytes, over the {16L << 20} bytes allowed for a configuration file: refused before reading it", big.Message);
    }

    [Fact]
    public void A_HoconFile_that_is_a_directory_or_a_link_to_nothing_should_be_refused_saying_which()
    {
        Directory.CreateDirectory(_temp.Path);
        var dangling = Path.Combine(_temp.Path, "dangling.conf");
        File.CreateSymbolicLink(dangling, Path.Combine(_temp.Path, "nope.conf"));

        // Before: "does not exist" for the directory, and .NET's bare "Could not find file" for the link.
        Assert.Equal($"ActorCkptOptions.HoconFile '{_temp.Path}' is a directory, not a file",
            Assert.Throws<IOException>(() => new ActorCkptOptions { Root = _temp.Path, HoconFile = _temp.Path }.ToConfig()).Message);
        Assert.Equal($"ActorCkptOptions.HoconFile '{dangling}' is a link to '{Path.Combine(_temp.Path, "nope.conf")}', which does not exist",
            Assert.Throws<FileNotFoundException>(() => new ActorCkptOptions { Root = _temp.Path, HoconFile = dangling }.ToConfig()).Message);
    }

    [Fact]
    public void A_HoconFile_with_a_section_never_closed_should_be_refused_naming_its_line()
    {
        Directory.CreateDirectory(_temp.Path);
        var open = Path.Combine(_temp.Path, "open.conf");
        File.WriteAllText(open, "actorckpt.retention {\n  keep-last = 1\n");

        // Before, Akka's parser closed the section at the end of the file: the host started as if nothing were wrong.
        var refused = Assert.Throws<Akka.Configuration.ConfigurationException>(() => new ActorCkptOptions { Root = _temp.Path, HoconFile = open }.ToConfig());
        Assert.Equal($"ActorCkptOptions.HoconFile '{open}': line 1: '{{' is never closed (a '}}' is missing)", refused.Message);
    }

    [Fact]
    public async Task Hocon_options_with_an_array_left_open_should_be_refused_naming_them_not_hang_the_parser()
    {
        // Akka's parser never returns on this text (fuzz/regressions/settings/akka-open-array.conf): the start used to hang for good.
        const string hang = "actorckpt.retention.keep-last = 2\na = [1, f =";
        const string balanced = "akka.cluster.roles = [rank, writer = ]";

        var checkpointer = await Assert.ThrowsAsync<Akka.Configuration.ConfigurationException>(() =>
            Task.Run(() => CheckpointerConfig.Build(new CheckpointerOptions { Root = _temp.Path, Hocon = hang })).WaitAsync(Deadline));
        var hosted = await Assert.ThrowsAsync<Akka.Configuration.ConfigurationException>(() =>
            Task.Run(() => new ActorCkptOptions { Root = _temp.Path, Hocon = hang }.ToConfig()).WaitAsync(Deadline));

        Assert.Equal("CheckpointerOptions.Hocon: line 2: '[' is never closed (a ']' is missing)", checkpointer.Message);
        Assert.Equal("ActorCkptOptions.Hocon: line 2: '[' is never closed (a ']' is missing)", hosted.Message);
        var closed = await Assert.ThrowsAsync<Akka.Configuration.ConfigurationException>(() =>
            Task.Run(() => CheckpointerConfig.Build(new CheckpointerOptions { Root = _temp.Path, Hocon = balanced })).WaitAsync(Deadline));
        Assert.Equal("CheckpointerOptions.Hocon: line 1: '=' where a value of an array should start, on which Akka's HOCON parser never returns: quote the value (\"...\") or close the array before it", closed.Message);
    }
}
