using ActorCkpt.Cli;
using TorchSharp;

namespace ActorCkpt.Cli.Tests;

public class UnshardSpec : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly torch.Tensor _w = torch.arange(48, torch.float32).reshape(12, 4);
    private readonly torch.Tensor _b = torch.arange(5, torch.int64);
    private readonly torch.Tensor _expAvg = torch.arange(48, torch.float32).reshape(12, 4) * 0.5f;

    private string Dir => Path.Combine(_temp.Path, "ckpt");

    private string Out => Path.Combine(_temp.Path, "out");

    public void Dispose()
    {
        foreach (var t in new[] { _w, _b, _expAvg }) t.Dispose();
        _temp.Dispose();
    }

    /// <summary>Two ranks: the weight and its optimizer state row-sharded, the bias replicated.</summary>
    private async Task SaveAsync()
    {
        await using var ckpt = Checkpointer.Start(Dir);
        var handles = Enumerable.Range(0, 2).Select(r =>
        {
            var state = new RankState(r, 2)
                .AddSharded("model.w", _w.narrow(0, r * 6, 6), 0, r * 6, 12)
                .AddReplicated("model.b", _b)
                .AddSharded("optim.state.model.w.exp_avg", _expAvg.narrow(0, r * 6, 6), 0, r * 6, 12);
            return ckpt.SaveAsync(1, state);
        }).ToArray();
        await Task.WhenAll(handles).WaitAsync(TimeSpan.FromMinutes(1));
    }

    /// <summary>The tensors of an output file, read back through the strict safetensors parser.</summary>
    private Dictionary<string, byte[]> Read(string file)
    {
        using var reader = new LocalBlobStore(Out).OpenRead(file);
        var header = SafetensorsHeader.Read(reader, file);
        Assert.Equal("pt", header.Metadata["format"]);
        return header.Entries.ToDictionary(e => e.Name, e =>
        {
            var bytes = new byte[e.Length];
            reader.ReadExactly(bytes, header.DataStart + e.Begin);
            return bytes;
        });
    }

    private static int Run(params string[] args) => ActorCkptCli.Run(args, new StringWriter(), new StringWriter());

    [Fact]
    public async Task One_file_should_hold_every_full_model_tensor_and_the_optimizer_state_only_when_asked()
    {
        await SaveAsync();

        Assert.Equal(0, Run("unshard", Dir, "--out", Out, "--strategy", "one-file"));
        var model = Read("model.safetensors");
        Assert.Equal(new[] { "model.b", "model.w" }, model.Keys.Order());
        Assert.Equal(_w.bytes.ToArray(), model["model.w"]);
        Assert.Equal(_b.bytes.ToArray(), model["model.b"]);
        Assert.False(File.Exists(Path.Combine(Out, "optim.safetensors")));

        Assert.Equal(0, Run("unshard", Dir, "--out", Out, "--strategy", "one-file", "--optim"));
        Assert.Equal(_expAvg.bytes.ToArray(), Read("optim.safetensors")["optim.state.model.w.exp_avg"]);
    }

    [Fact]
    public async Task One_file_per_tensor_and_chunks_should_split_as_their_strategy_says()
    {
        await SaveAsync();

        Assert.Equal(0, Run("unshard", Dir, "--out", Out, "--strategy", "one-file-per-tensor"));
        Assert.Equal(new[] { "model.w" }, Read("model/model.w.safetensors").Keys);
        Assert.Equal(_w.bytes.ToArray(), Read("model/model.w.safetensors")["model.w"]);
        Assert.Equal(new[] { "model.b" }, Read("model/model.b.safetensors").Keys);
        Assert.Equal(_b.bytes.ToArray(), Read("model/model.b.safetensors")["model.b"]);

        // 40 bytes of bias, then 192 of weight: a 100-byte chunk size puts them apart.
        Assert.Equal(0, Run("unshard", Dir, "--out", Out, "--strategy", "chunks", "--chunk-size", "100"));
        Assert.Equal(new[] { "model.b" }, Read("model/chunk-00000.safetensors").Keys);
        Assert.Equal(_b.bytes.ToArray(), Read("model/chunk-00000.safetensors")["model.b"]);
        Assert.Equal(new[] { "model.w" }, Read("model/chunk-00001.safetensors").Keys);
        Assert.Equal(_w.bytes.ToArray(), Read("model/chunk-00001.safetensors")["model.w"]);
    }

    [Fact]
    public async Task Load_keys_should_give_full_tensors_without_a_model_and_metadata_should_describe_the_step()
    {
        await SaveAsync();

        var reader = CheckpointReader.Open(Dir);
        var tensors = reader.LoadKeys(new[] { "model.w", "optim.state.model.w.exp_avg" });
        var metadata = reader.ReadMetadata();

        Assert.True(tensors["model.w"].bytes.SequenceEqual(_w.bytes));
        Assert.Equal(new long[] { 12, 4 }, tensors["model.w"].shape);
        Assert.True(tensors["optim.state.model.w.exp_avg"].bytes.SequenceEqual(_expAvg.bytes));
        Assert.Equal(2, metadata.WorldSize);
        Assert.Equal(new long[] { 12, 4 }, metadata.Tensors["model.w"].Shape);
        var missing = Assert.Throws<KeyNotFoundException>(() => reader.LoadKeys(new[] { "model.nope" }));
        Assert.Contains("'model.nope'", missing.Message);
        foreach (var t in tensors.Values) t.Dispose();
    }
}
