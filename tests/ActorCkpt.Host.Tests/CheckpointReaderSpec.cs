using TorchSharp;
using static TorchSharp.torch;

namespace ActorCkpt.Host.Tests;

/// <summary>
/// The read-only reader: it opens a root that a live checkpointer holds (the catalog lock taken,
/// the checkpointer still running), lists its steps and loads a step saved on 2 ranks onto 3,
/// bit-exact, through a <see cref="RankState"/>, through <see cref="IStateful"/> parts and by key;
/// it writes nothing under the root; a missing root, a missing step and a step deleted while it is
/// read each fail with one line naming it.
/// </summary>
public sealed class CheckpointReaderSpec : IClassFixture<CheckpointReaderSpec.LiveRoot>, IDisposable
{
    private const long Step = 3;
    private const int SavedRanks = 2;
    private const int LoadRanks = 3;
    private const long Rows = 6;
    private const long Cols = 4;

    private readonly LiveRoot _live;
    private readonly TempDirectory _temp = new();

    public CheckpointReaderSpec(LiveRoot live) => _live = live;

    public void Dispose() => _temp.Dispose();

    /// <summary>
    /// A root into which a running checkpointer saved step 3 of a tensor-parallel Linear(4, 6) (rows
    /// split over 2 ranks) and a global counter; the checkpointer keeps running, holding the root.
    /// </summary>
    public sealed class LiveRoot : IAsyncLifetime
    {
        private readonly TempDirectory _temp = new();
        private readonly List<nn.Module> _parts = [];

        public string Dir => Path.Combine(_temp.Path, "ckpt");

        public Checkpointer Checkpointer { get; private set; } = null!;

        public TorchSharp.Modules.Linear Whole { get; } = nn.Linear(Cols, Rows);

        public async Task InitializeAsync()
        {
            Checkpointer = Checkpointer.Start(Dir);
            await Task.WhenAll(Enumerable.Range(0, SavedRanks).Select(r =>
            {
                var (spec, rows) = ShardSpec.Even(0, Rows, r, SavedRanks);
                var part = nn.Linear(Cols, rows);
                _parts.Add(part);
                using (no_grad())
                {
                    part.weight!.copy_(Whole.weight!.narrow(0, spec.Offset, rows));
                    part.bias!.copy_(Whole.bias!.narrow(0, spec.Offset, rows));
                }
                return Checkpointer.SaveAsync(Step, r, SavedRanks, Parts(part, spec, new JsonState<int>("iteration", 300, ObjectScope.Global)));
            }));
        }

        public async Task DisposeAsync()
        {
            await Checkpointer.DisposeAsync();
            foreach (var part in _parts) part.Dispose();
            Whole.Dispose();
            _temp.Dispose();
        }
    }

    private static IStateful[] Parts(nn.Module part, ShardSpec spec, IStateful counter) =>
        [new ModuleState(part, "tp", new Dictionary<string, ShardSpec> { ["weight"] = spec, ["bias"] = spec }), counter];

    /// <summary>Every file and directory under <paramref name="root"/>, relative, sorted.</summary>
    private static string[] Listing(string root) =>
        Directory.GetFileSystemEntries(root, "*", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(root, p)).Order(StringComparer.Ordinal).ToArray();

    private static void AssertSameBytes(Tensor expected, Tensor actual, string what) =>
        Assert.True(expected.contiguous().bytes.SequenceEqual(actual.contiguous().bytes), $"{what} differs from what was saved");

    /// <summary>A copy of the saved step under a fresh root: no catalog, no lock, no root id.</summary>
    private string CopyOfStep()
    {
        var root = Path.Combine(_temp.Path, "copy-" + Guid.NewGuid().ToString("N"));
        var name = CheckpointLayout.StepDirectory(Step);
        Directory.CreateDirectory(Path.Combine(root, name));
        foreach (var file in Directory.GetFiles(Path.Combine(_live.Dir, name)))
            File.Copy(file, Path.Combine(root, name, Path.GetFileName(file)));
        return root;
    }

    [Fact]
    public async Task A_root_held_by_a_live_checkpointer_should_open_list_and_load_onto_3_ranks_bit_exact_writing_nothing()
    {
        // The live checkpointer holds the catalog lock: taking it here fails.
        Assert.Throws<LockHeldException>(() => new LocalBlobStore(_live.Dir).Lock(CheckpointLayout.CatalogLockFile));
        var before = Listing(_live.Dir);

        var reader = CheckpointReader.Open(_live.Dir);
        Assert.Equal(new[] { Step }, reader.Steps);
        Assert.Equal<long?>(Step, reader.LatestStep);
        Assert.Equal(SavedRanks, reader.ReadMetadata().WorldSize);

        // Through RankStates: rank r of 3 holds rows 2r..2r+2; rank 1's rows come from both saved shards.
        var targets = Enumerable.Range(0, LoadRanks).Select(r =>
        {
            var (spec, rows) = ShardSpec.Even(0, Rows, r, LoadRanks);
            return (Spec: spec, Rows: rows, Weight: zeros(rows, Cols), Bias: zeros(rows));
        }).ToArray();
        var results = await Task.WhenAll(targets.Select((t, r) => reader.LoadAsync(new RankState(r, LoadRanks)
            .AddSharded("tp.weight", t.Weight, 0, t.Spec.Offset, Rows)
            .AddSharded("tp.bias", t.Bias, 0, t.Spec.Offset, Rows))));
        foreach (var (t, r) in targets.Select((t, r) => (t, r)))
        {
            using (var weight = _live.Whole.weight!.narrow(0, t.Spec.Offset, t.Rows))
                AssertSameBytes(weight, t.Weight, $"rank {r}'s weight rows");
            using (var bias = _live.Whole.bias!.narrow(0, t.Spec.Offset, t.Rows))
                AssertSameBytes(bias, t.Bias, $"rank {r}'s bias rows");
            Assert.Equal(Step, results[r].Step);
            Assert.Equal(SavedRanks, results[r].SavedWorldSize);
            Assert.Equal(300, results[r].Json<int>("iteration"));
            t.Weight.Dispose();
            t.Bias.Dispose();
        }

        // Through IStateful parts, as a resumed trainer would.
        var modules = Enumerable.Range(0, LoadRanks).Select(r => ShardSpec.Even(0, Rows, r, LoadRanks))
            .Select(s => (s.Spec, s.Length, Module: nn.Linear(Cols, s.Length), Counter: new JsonState<int>("iteration", 0, ObjectScope.Global))).ToArray();
        await Task.WhenAll(modules.Select((m, r) => reader.LoadAsync(r, LoadRanks, Parts(m.Module, m.Spec, m.Counter), Step)));
        foreach (var m in modules)
        {
            using (var weight = _live.Whole.weight!.narrow(0, m.Spec.Offset, m.Length))
                AssertSameBytes(weight, m.Module.weight!, "a module's weight");
            Assert.Equal(300, m.Counter.Value);
            m.Module.Dispose();
        }

        // By key: the full tensors.
        var keys = reader.LoadKeys(["tp.weight", "tp.bias"]);
        using (var weight = keys["tp.weight"])
        using (var bias = keys["tp.bias"])
        {
            AssertSameBytes(_live.Whole.weight!, weight, "tp.weight from LoadKeys");
            AssertSameBytes(_live.Whole.bias!, bias, "tp.bias from LoadKeys");
        }

        Assert.Equal(before, Listing(_live.Dir));
        // And the live checkpointer saves on, undisturbed; the reader lists afresh.
        using var b = zeros(2);
        await _live.Checkpointer.SaveAsync(Step + 1, new RankState(0, 1).AddReplicated("extra", b));
        Assert.Equal(new[] { Step, Step + 1 }, reader.Steps);
    }

    [Fact]
    public async Task A_root_without_a_catalog_should_be_read_without_writing_a_root_id_or_a_catalog()
    {
        var root = CopyOfStep();
        var before = Listing(root);

        var reader = CheckpointReader.Open(root);
        Assert.Equal(new[] { Step }, reader.Steps);
        Assert.Equal(SavedRanks, reader.ReadMetadata(Step).WorldSize);
        using var weight = zeros(Rows, Cols);
        await reader.LoadAsync(new RankState(0, 1).AddReplicated("tp.weight", weight));
        AssertSameBytes(_live.Whole.weight!, weight, "tp.weight loaded on one rank");
        foreach (var t in reader.LoadKeys(["tp.bias"]).Values) t.Dispose();

        Assert.Equal(before, Listing(root));
        Assert.False(File.Exists(Path.Combine(root, CheckpointLayout.RootIdFile)));
        Assert.False(File.Exists(Path.Combine(root, CheckpointLayout.CatalogFile)));
    }

    [Fact]
    public async Task A_steps_metadata_copied_into_another_steps_directory_should_be_refused_by_loads_naming_the_file_and_both_steps()
    {
        var root = CopyOfStep();
        // Step 3's files and metadata under step 5's name: well formed, self-consistent, and step 3's tensors.
        var from = Path.Combine(root, CheckpointLayout.StepDirectory(Step));
        var to = Path.Combine(root, CheckpointLayout.StepDirectory(5));
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        var reader = CheckpointReader.Open(root);
        using var weight = zeros(Rows, Cols);

        var load = await Assert.ThrowsAsync<CheckpointFormatException>(() => reader.LoadAsync(new RankState(0, 1).AddReplicated("tp.weight", weight)));
        var keys = Assert.Throws<CheckpointFormatException>(() => reader.LoadKeys(["tp.weight"], 5));

        const string expected = "'step-00000005/metadata.json': \"step\" is 3 but the document is in the directory of step 5: it is another step's metadata, not this step's";
        Assert.Equal(expected, load.Message);
        Assert.Equal(expected, keys.Message);
        Assert.Equal(SavedRanks, reader.ReadMetadata(Step).WorldSize);
    }

    [Fact]
    public void A_missing_root_should_be_refused_in_one_line_and_not_created()
    {
        var missing = Path.Combine(_temp.Path, "no-such-root");

        var e = Assert.Throws<DirectoryNotFoundException>(() => CheckpointReader.Open(missing));

        Assert.Equal($"checkpoint root '{missing}' does not exist: pass the directory a Checkpointer saved into", e.Message);
        Assert.False(Directory.Exists(missing));
    }

    [Fact]
    public void A_file_given_as_the_root_should_be_refused_saying_it_is_a_file()
    {
        Directory.CreateDirectory(_temp.Path);
        var file = Path.Combine(_temp.Path, "a-file");
        File.WriteAllText(file, "not a checkpoint");

        var e = Assert.Throws<IOException>(() => CheckpointReader.Open(file));

        Assert.Equal($"checkpoint root '{file}' is a file, not a directory: pass the directory a Checkpointer saved into", e.Message);
        Assert.Equal("not a checkpoint", File.ReadAllText(file));
        // A checkpointer started on it says the same (it said "The file '…' already exists").
        Assert.Equal($"checkpoint root '{file}' is a file, not a directory", Assert.Throws<IOException>(() => Checkpointer.Start(file)).Message);
        Assert.Equal("not a checkpoint", File.ReadAllText(file));
    }

    [Fact]
    public void A_load_parallelism_below_1_should_be_refused_naming_the_option()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new CheckpointReaderOptions { LoadParallelism = 0 });

        Assert.StartsWith("CheckpointReaderOptions.LoadParallelism = 0: expected a whole number of at least 1", e.Message);
    }

    [Fact]
    public async Task A_missing_step_should_be_refused_in_one_line_naming_it_and_the_steps_held()
    {
        var reader = CheckpointReader.Open(_live.Dir);
        using var weight = zeros(Rows, Cols);

        var load = await Assert.ThrowsAsync<CheckpointNotFoundException>(() => reader.LoadAsync(new RankState(0, 1).AddReplicated("tp.weight", weight), step: 7));
        var metadata = Assert.Throws<CheckpointNotFoundException>(() => reader.ReadMetadata(7));
        var keys = Assert.Throws<CheckpointNotFoundException>(() => reader.LoadKeys(["tp.weight"], 7));

        foreach (var e in new[] { load, metadata, keys })
        {
            Assert.StartsWith($"step 7 is not a committed checkpoint in '{_live.Dir}' (committed steps: {Step}", e.Message);
            Assert.DoesNotContain('\n', e.Message);
        }

        Directory.CreateDirectory(Path.Combine(_temp.Path, "empty"));
        var empty = CheckpointReader.Open(Path.Combine(_temp.Path, "empty"));
        Assert.Empty(empty.Steps);
        Assert.Null(empty.LatestStep);
        var none = await Assert.ThrowsAsync<CheckpointNotFoundException>(() => empty.LoadAsync(new RankState(0, 1).AddReplicated("tp.weight", weight)));
        Assert.Equal($"no committed checkpoint in '{Path.Combine(_temp.Path, "empty")}'", none.Message);
    }

    [Fact]
    public async Task A_step_deleted_by_retention_while_it_is_read_should_fail_naming_the_step()
    {
        using var weight = zeros(Rows, Cols);
        var load = new CheckpointReader(new DeletesStepOnFirstDataRead(new LocalBlobStore(CopyOfStep()), Step));
        var byKey = new CheckpointReader(new DeletesStepOnFirstDataRead(new LocalBlobStore(CopyOfStep()), Step));

        var e1 = await Assert.ThrowsAsync<CheckpointNotFoundException>(() => load.LoadAsync(new RankState(0, 1).AddReplicated("tp.weight", weight)));
        var e2 = Assert.Throws<CheckpointNotFoundException>(() => byKey.LoadKeys(["tp.weight"]));

        foreach (var e in new[] { e1, e2 })
            Assert.StartsWith($"step {Step} was deleted from '", e.Message);
        Assert.Empty(load.Steps);
    }

    /// <summary>
    /// Retention of a live process, at the worst moment: the step is deleted as the loader opens its
    /// first data file (after the metadata was read), the way <see cref="CheckpointStore.Delete"/> does it.
    /// </summary>
    private sealed class DeletesStepOnFirstDataRead(IBlobStore inner, long step) : DelegatingBlobStore(inner)
    {
        private int _deleted;

        public override IBlobReader OpenRead(string path)
        {
            if (path.EndsWith(".safetensors", StringComparison.Ordinal) && Interlocked.Exchange(ref _deleted, 1) == 0)
                new CheckpointStore(Inner).Delete(step);
            return base.OpenRead(path);
        }
    }
}
