using ActorCkpt.Fuzz;
using Akka.Configuration;

namespace ActorCkpt.Fuzz.Tests;

/// <summary>
/// Every file of the seed corpus (fuzz/corpus/TARGET) and every saved crash (fuzz/regressions/TARGET)
/// goes through its harness and must be accepted or refused with the parser's documented exception;
/// and each crash fuzzing found is pinned by name with the exact error it now gets.
/// </summary>
public class FuzzCorpusReplaySpec
{
    /// <summary>The checkout's fuzz/ folder, found above the test's output folder.</summary>
    private static readonly string FuzzFolder = FindFuzzFolder();

    public static TheoryData<string> Targets() => new(FuzzTarget.All.Keys);

    [Theory(Timeout = 30_000)]
    [MemberData(nameof(Targets))]
    public async Task Every_corpus_and_regression_file_should_be_accepted_or_refused_as_documented(string name)
    {
        var target = FuzzTarget.All[name];
        var files = new[] { "corpus", "regressions" }.Select(f => Path.Combine(FuzzFolder, f, name)).Where(Directory.Exists)
            .SelectMany(d => Directory.GetFiles(d, "*", SearchOption.AllDirectories)).Order(StringComparer.Ordinal).ToArray();

        // Off the test thread, so that the timeout fails a hang instead of waiting on it.
        var outcomes = await Task.Run(() => files.Select(file =>
        {
            try
            {
                return (file, Accepted: (bool?)target.Run(File.ReadAllBytes(file)), Crash: (Exception?)null);
            }
            catch (Exception e)
            {
                return (file, Accepted: null, Crash: e);
            }
        }).ToArray());

        Assert.Empty(outcomes.Where(o => o.Crash is not null).Select(o => $"{Path.GetFileName(o.file)}: {o.Crash}"));
        // A corpus of the project's own documents: some accepted, some refused, so both paths run.
        Assert.Contains(outcomes, o => o.Accepted == true);
        Assert.Contains(outcomes, o => o.Accepted == false);
    }

    [Fact]
    public void A_checksum_block_size_over_2_GiB_should_be_refused_naming_the_key()
    {
        var config = ConfigurationFactory.ParseString("actorckpt.writer.checksum-block-size = 1TiB");

        var e = Assert.Throws<ConfigurationException>(() => ActorCkptSettings.Create(config));

        Assert.Equal("actorckpt.writer.checksum-block-size = 1099511627776: must be a positive multiple of 4096 below 2 GiB", e.Message);
    }

    [Fact]
    public void A_transfer_chunk_size_over_2_GiB_should_be_refused_naming_the_key()
    {
        var config = ConfigurationFactory.ParseString("actorckpt.transfer.chunk-size = 4GiB");

        var e = Assert.Throws<ConfigurationException>(() => ActorCkptSettings.Create(config));

        Assert.Equal("actorckpt.transfer.chunk-size = 4294967296: must be between 1 KiB and 100000 bytes", e.Message);
    }

    [Theory(Timeout = 30_000)]
    [InlineData("regressions/settings/akka-open-array.conf", "line 1: '[' is never closed (a ']' is missing)")]
    [InlineData("regressions/settings/akka-array-closed-by-brace.conf", "line 1: '}' closes nothing opened before it")]
    [InlineData("regressions/settings/afl-hang-00.conf", "line 1: '[' is never closed (a ']' is missing)")]
    [InlineData("regressions/settings/afl-hang-01.conf", "line 1: '=' where a value of an array should start, on which Akka's HOCON parser never returns: quote the value (\"...\") or close the array before it")]
    [InlineData("regressions/settings/afl-hang-02.conf", "line 1: '$' where a value of an array should start, on which Akka's HOCON parser never returns: quote the value (\"...\") or close the array before it")]
    [InlineData("regressions/settings/afl-hang-03.conf", "line 93: '}' where a value of an array should start, on which Akka's HOCON parser never returns: quote the value (\"...\") or close the array before it")]
    [InlineData("regressions/settings/array-at-sign.conf", "line 1: '@' where a value of an array should start, on which Akka's HOCON parser never returns: quote the value (\"...\") or close the array before it")]
    [InlineData("regressions/settings/arrays-100000-deep.conf", "line 1: keys and arrays nested deeper than 64 levels")]
    [InlineData("regressions/settings/key-100001-parts.conf", "line 1: keys and arrays nested deeper than 64 levels")]
    [InlineData("regressions/settings/substitution-cycle.conf", "the substitution ${actorckpt.x} of 'actorckpt.root' leads back to itself, which Akka's HOCON parser resolves without end")]
    [InlineData("regressions/settings/substitution-of-itself.conf", "the substitution ${a} of 'a' leads back to itself, which Akka's HOCON parser resolves without end")]
    public async Task HOCON_on_which_Akkas_parser_never_returns_or_overflows_should_be_refused_before_it_naming_why(string file, string message)
    {
        var text = await File.ReadAllTextAsync(Path.Combine(FuzzFolder, file));

        // Off the test thread, so that the timeout fails a hang instead of waiting on it.
        var e = await Assert.ThrowsAsync<ConfigurationException>(() => Task.Run(() => UserHocon.Parse(text, "--config 'x.conf'")));

        Assert.Equal($"--config 'x.conf': {message}", e.Message);
    }

    [Theory]
    [InlineData("corpus/safetensors/overflowing-shape.safetensors", "tensor 't': shape [4294967296, 4294967296] holds more bytes than 64 bits count")]
    [InlineData("regressions/safetensors/negative-shape.safetensors", "tensor 't': shape [-1, -4] has a negative size")]
    public void A_safetensors_shape_of_negative_or_overflowing_size_should_be_refused_naming_the_tensor(string file, string message)
    {
        var bytes = File.ReadAllBytes(Path.Combine(FuzzFolder, file));

        var e = Assert.Throws<CheckpointFormatException>(() => SafetensorsHeader.Read(new MemoryBlobReader(bytes), "model.safetensors"));

        Assert.Equal($"'model.safetensors': {message}", e.Message);
    }

    [Fact]
    public void A_safetensors_tensor_name_that_is_not_UTF8_should_be_refused_as_malformed()
    {
        // afl-fuzz's first find (fuzz/regressions/safetensors/afl-00): byte 0x87 alone as a tensor name.
        var bytes = File.ReadAllBytes(Path.Combine(FuzzFolder, "regressions/safetensors/afl-00.safetensors"));

        var e = Assert.Throws<CheckpointFormatException>(() => SafetensorsHeader.Read(new MemoryBlobReader(bytes), "model.safetensors"));

        Assert.StartsWith("'model.safetensors': header is malformed: Cannot transcode invalid UTF-8", e.Message);
    }

    [Theory]
    [InlineData("[]", "header is not a JSON object")]
    [InlineData("17", "header is not a JSON object")]
    [InlineData("{\"__metadata__\":[]}", "__metadata__ is not an object")]
    public void A_safetensors_header_that_is_not_an_object_where_one_is_due_should_be_refused_naming_it(string json, string message)
    {
        var bytes = new byte[8 + json.Length];
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), (ulong)json.Length);
        System.Text.Encoding.ASCII.GetBytes(json).CopyTo(bytes, 8);

        var e = Assert.Throws<CheckpointFormatException>(() => SafetensorsHeader.Read(new MemoryBlobReader(bytes), "model.safetensors"));

        Assert.Equal("'model.safetensors': " + message, e.Message);
    }

    [Fact]
    public void A_Hugging_Face_index_whose_weight_map_is_not_UTF8_should_be_refused_naming_the_index()
    {
        // afl-fuzz's first find (fuzz/regressions/hf-index/afl-00): byte 0x80 in a file name of weight_map.
        using var dir = new TempFolder();
        var index = Path.Combine(dir.Path, HuggingFaceExporter.IndexFile);
        File.Copy(Path.Combine(FuzzFolder, "regressions/hf-index/afl-00.json"), index);

        var e = Assert.Throws<CheckpointFormatException>(() => HuggingFaceCheckpoint.Open(dir.Path));

        Assert.Equal(index, e.File);
        Assert.StartsWith($"'{index}': is malformed: Cannot transcode invalid UTF-8", e.Message);
    }

    /// <summary>A new folder under the temporary folder, removed on dispose.</summary>
    private sealed class TempFolder : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("actorckpt-fuzz-test-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }

    private static string FindFuzzFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "ActorCkpt.sln")))
                return Path.Combine(dir.FullName, "fuzz");
        throw new DirectoryNotFoundException($"no ActorCkpt.sln above {AppContext.BaseDirectory}");
    }
}
