using ActorCkpt.Cli;
using TorchSharp;
using static TorchSharp.torch;

namespace ActorCkpt.Cli.Tests;

/// <summary>
/// Loading a Hugging Face checkpoint as the base model: an export of a sharded checkpoint comes
/// back bit-exact on another rank count and sharding, each rank reading only its own bytes; keys
/// are renamed by a regex mapping; dtype, strictness and malformed directories fail naming the culprit.
/// </summary>
public sealed class ImportSpec : IDisposable
{
    private readonly TempDirectory _temp = new();

    public ImportSpec() => Directory.CreateDirectory(_temp.Path);

    public void Dispose() => _temp.Dispose();

    private string PathOf(string name) => System.IO.Path.Combine(_temp.Path, name);

    [Fact]
    public async Task An_export_should_import_bit_exact_on_another_rank_count_each_rank_reading_only_its_bytes()
    {
        manual_seed(3);
        using var emb = randn(10, 6);
        using var proj = randn(6, 8).to(bfloat16);
        using var norm = randn(6);
        using var count = arange(3, int64);
        using var expAvg = randn(10, 6);

        // Saved on 2 ranks: emb by rows, proj by columns, norm and count replicated, plus optimizer state.
        var ckptDir = PathOf("ckpt");
        await using (var ckpt = Checkpointer.Start(ckptDir))
        {
            var handles = Enumerable.Range(0, 2).Select(r => ckpt.SaveAsync(5, new RankState(r, 2)
                .AddSharded("model.emb", emb.narrow(0, r * 5, 5), 0, r * 5, 10)
                .AddSharded("model.proj", proj.narrow(1, r * 4, 4).contiguous(), 1, r * 4, 8)
                .AddReplicated("model.norm", norm)
                .AddReplicated("model.count", count)
                .AddSharded("optim.state.model.emb.exp_avg", expAvg.narrow(0, r * 5, 5), 0, r * 5, 10))).ToArray();
            await Task.WhenAll(handles).WaitAsync(TimeSpan.FromMinutes(1));
        }
        var hf = PathOf("hf");
        var exportErrors = new StringWriter();
        var exported = ActorCkptCli.Run(new[] { "export", ckptDir, "--out", hf, "--max-shard-size", "150" }, new StringWriter(), exportErrors);
        Assert.True(exported == 0, $"export exited {exported}: {exportErrors}");
        Assert.True(File.Exists(System.IO.Path.Combine(hf, HuggingFaceExporter.IndexFile)));

        // Loaded on 3 ranks the other way round: emb by columns, proj by rows.
        for (var rank = 0; rank < 3; rank++)
        {
            using var myEmb = zeros(10, 2);
            using var myProj = zeros(new long[] { 2, 8 }, bfloat16);
            using var myNorm = zeros(6);
            using var myCount = zeros(3, int64);
            var target = new RankState(rank, 3)
                .AddSharded("model.emb", myEmb, 1, rank * 2, 6)
                .AddSharded("model.proj", myProj, 0, rank * 2, 6)
                .AddReplicated("model.norm", myNorm)
                .AddReplicated("model.count", myCount);

            var load = HuggingFaceImport.LoadBaseModel(hf, target, new BaseModelOptions(Strict: StrictHandling.RaiseAll));

            using (var expected = emb.narrow(1, rank * 2, 2).contiguous()) Assert.Equal(expected.bytes.ToArray(), myEmb.bytes.ToArray());
            using (var expected = proj.narrow(0, rank * 2, 2).contiguous()) Assert.Equal(expected.bytes.ToArray(), myProj.bytes.ToArray());
            Assert.Equal(norm.bytes.ToArray(), myNorm.bytes.ToArray());
            Assert.Equal(count.bytes.ToArray(), myCount.bytes.ToArray());
            Assert.Equal(10 * 2 * 4 + 2 * 8 * 2 + 6 * 4 + 3 * 8, load.Result.BytesRead);
        }
    }

    [Fact]
    public void A_key_mapping_should_load_renamed_modules_into_a_sharded_module()
    {
        manual_seed(4);
        using var w0 = randn(6, 3);
        using var b0 = randn(6);
        using var w1 = randn(2, 6);
        using var b1 = randn(2);
        var hf = PathOf("hf");
        WriteSafetensors(hf, "model.safetensors",
            ("transformer.h.0.weight", w0), ("transformer.h.0.bias", b0), ("transformer.h.1.weight", w1), ("transformer.h.1.bias", b1));
        var mapping = KeyMapping.FromJson("""{ "^transformer\\.": "x.", "^x\\.h\\.(\\d+)\\.": "model.\\1." }""", "mapping");

        for (var rank = 0; rank < 2; rank++)
        {
            // The first layer is column-parallel: this rank holds rows [3·rank, 3·rank + 3) of its weight and bias.
            using var module = nn.Sequential(("0", nn.Linear(3, 3)), ("1", nn.Linear(6, 2)));
            var (spec, _) = ShardSpec.Even(0, 6, rank, 2);
            var part = new ModuleState(module, sharding: new Dictionary<string, ShardSpec> { ["0.weight"] = spec, ["0.bias"] = spec });

            var load = HuggingFaceImport.LoadBaseModel(hf, rank, 2, new[] { part }, new BaseModelOptions(mapping, StrictHandling.RaiseAll));

            var state = module.state_dict();
            using (var expected = w0.narrow(0, rank * 3, 3).contiguous()) Assert.Equal(expected.bytes.ToArray(), state["0.weight"].bytes.ToArray());
            using (var expected = b0.narrow(0, rank * 3, 3).contiguous()) Assert.Equal(expected.bytes.ToArray(), state["0.bias"].bytes.ToArray());
            Assert.Equal(w1.bytes.ToArray(), state["1.weight"].bytes.ToArray());
            Assert.Equal(b1.bytes.ToArray(), state["1.bias"].bytes.ToArray());
            Assert.Equal("transformer.h.0.weight", load.SourceKeys["model.0.weight"]);
        }
    }

    [Fact]
    public void Dtypes_should_be_kept_unless_conversion_is_asked_for()
    {
        using var w = randn(4, 4).to(bfloat16);
        var hf = PathOf("hf");
        WriteSafetensors(hf, "model.safetensors", ("w", w));
        using var target = zeros(4, 4);

        var refused = Assert.Throws<ActorCkptException>(() => HuggingFaceImport.LoadBaseModel(hf, new RankState(0, 1).AddReplicated("w", target)));
        Assert.Contains("'w' is BF16 in the files but F32 in the state", refused.Message);
        Assert.Equal(0, target.count_nonzero().item<long>());

        HuggingFaceImport.LoadBaseModel(hf, new RankState(0, 1).AddReplicated("w", target), new BaseModelOptions(ConvertDTypes: true));
        using var expected = w.to(float32);
        Assert.Equal(expected.bytes.ToArray(), target.bytes.ToArray());
    }

    [Fact]
    public void Strictness_should_act_as_for_ordinary_loads()
    {
        using var w = randn(2, 2);
        var hf = PathOf("hf");
        WriteSafetensors(hf, "model.safetensors", ("w", w), ("extra", w));
        using var target = zeros(2, 2);
        using var absent = zeros(3);
        RankState State() => new RankState(0, 1).AddReplicated("w", target).AddReplicated("absent", absent);

        var raised = Assert.Throws<LoadPlanException>(() => HuggingFaceImport.LoadBaseModel(hf, State(), new BaseModelOptions(Strict: StrictHandling.RaiseAll)));
        Assert.Equal(new[] { "absent" }, raised.MissingKeys);
        Assert.Equal(new[] { "extra" }, raised.UnexpectedKeys);
        Assert.Equal(0, target.count_nonzero().item<long>());

        var returned = HuggingFaceImport.LoadBaseModel(hf, State(), new BaseModelOptions(Strict: StrictHandling.ReturnAll));
        Assert.Equal(new[] { "absent" }, returned.Result.MissingKeys);
        Assert.Equal(new[] { "extra" }, returned.Result.UnexpectedKeys);
        Assert.Equal(w.bytes.ToArray(), target.bytes.ToArray());

        var logged = HuggingFaceImport.LoadBaseModel(hf, State(), new BaseModelOptions(Strict: StrictHandling.LogAll));
        Assert.Equal(2, logged.Warnings.Count);
        Assert.Contains("absent", logged.Warnings[0]);
        Assert.Contains("extra", logged.Warnings[1]);
    }

    [Fact]
    public void A_malformed_directory_should_fail_naming_the_file_and_the_problem()
    {
        using var w = randn(2, 2);
        using var target = zeros(2, 2);
        var state = new RankState(0, 1).AddReplicated("w", target);

        var empty = PathOf("empty");
        Directory.CreateDirectory(empty);
        var none = Assert.Throws<FileNotFoundException>(() => HuggingFaceImport.LoadBaseModel(empty, state));
        Assert.Contains("model.safetensors.index.json", none.Message);

        var lying = PathOf("lying");
        WriteSafetensors(lying, "model-00001-of-00002.safetensors", ("w", w));
        File.WriteAllText(System.IO.Path.Combine(lying, HuggingFaceExporter.IndexFile),
            """{ "metadata": {}, "weight_map": { "w": "model-00001-of-00002.safetensors", "v": "model-00002-of-00002.safetensors" } }""");
        var missingFile = Assert.Throws<CheckpointFormatException>(() => HuggingFaceImport.LoadBaseModel(lying, state));
        Assert.Contains("model-00002-of-00002.safetensors", missingFile.Message);
        WriteSafetensors(lying, "model-00002-of-00002.safetensors", ("u", w));
        var missingKey = Assert.Throws<CheckpointFormatException>(() => HuggingFaceImport.LoadBaseModel(lying, state));
        Assert.Contains("lacks 'v'", missingKey.Message);

        var clash = PathOf("clash");
        WriteSafetensors(clash, "model.safetensors", ("a.w", w), ("b.w", w));
        var collision = Assert.Throws<ActorCkptException>(() => HuggingFaceImport.LoadBaseModel(clash, state,
            new BaseModelOptions(new KeyMapping(new Dictionary<string, string> { [@"^[ab]\."] = "" }))));
        Assert.Contains("both 'a.w' and 'b.w' into 'w'", collision.Message);
        Assert.Equal(0, target.count_nonzero().item<long>());
    }

    [Fact]
    public void A_tensor_of_a_dtype_ActorCkpt_does_not_load_should_hold_up_only_a_load_that_wants_it()
    {
        // "a": F32 [2] (8 bytes), then "b": U16 [3] (6 bytes), as a published checkpoint may hold.
        var dir = PathOf("u16");
        Directory.CreateDirectory(dir);
        var json = System.Text.Encoding.UTF8.GetBytes("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U16","shape":[3],"data_offsets":[8,14]}}""");
        var padded = (json.Length + 7) / 8 * 8;
        using (var file = File.Create(System.IO.Path.Combine(dir, "model.safetensors")))
        {
            file.Write(BitConverter.GetBytes((ulong)padded));
            file.Write(json);
            file.Write(Enumerable.Repeat((byte)' ', padded - json.Length).ToArray());
            file.Write(BitConverter.GetBytes(1.5f));
            file.Write(BitConverter.GetBytes(-2f));
            file.Write(new byte[] { 1, 0, 2, 0, 3, 0 });
        }

        // Before, the whole import was refused: "tensor 'b' has a malformed entry: unsupported safetensors dtype 'U16'".
        using var a = zeros(2);
        HuggingFaceImport.LoadBaseModel(dir, new RankState(0, 1).AddReplicated("a", a));
        Assert.Equal(new[] { 1.5f, -2f }, a.data<float>().ToArray());

        using var b = zeros(3, dtype: ScalarType.Int32);
        var e = Assert.Throws<ActorCkptException>(() => HuggingFaceImport.LoadBaseModel(dir, new RankState(0, 1).AddReplicated("b", b)));
        Assert.Equal($"{dir}: 'b' is U16 in the files, a dtype ActorCkpt does not load", e.Message);

        // It is still a key the files hold: unexpected where the strict mode looks at those.
        var returned = HuggingFaceImport.LoadBaseModel(dir, new RankState(0, 1).AddReplicated("a", a), new BaseModelOptions(Strict: StrictHandling.ReturnAll));
        Assert.Equal(new[] { "b" }, returned.Result.UnexpectedKeys);
        var raised = Assert.Throws<LoadPlanException>(() => HuggingFaceImport.LoadBaseModel(dir, new RankState(0, 1).AddReplicated("a", a), new BaseModelOptions(Strict: StrictHandling.RaiseAll)));
        Assert.Equal(new[] { "b" }, raised.UnexpectedKeys);
    }

    /// <summary>Writes <paramref name="tensors"/> as a safetensors file, as Python's safetensors would.</summary>
    private static void WriteSafetensors(string directory, string name, params (string Key, Tensor Tensor)[] tensors)
    {
        Directory.CreateDirectory(directory);
        var (header, _) = SafetensorsHeader.Build(
            tensors.Select(t => (t.Key, TorchDTypes.ToDType(t.Tensor.dtype), (IReadOnlyList<long>)t.Tensor.shape)).ToArray(),
            new Dictionary<string, string> { ["format"] = "pt" });
        using var file = File.Create(System.IO.Path.Combine(directory, name));
        file.Write(header);
        foreach (var (_, tensor) in tensors) file.Write(tensor.bytes);
    }
}
