using System.Text;

namespace ActorCkpt.Io.Tests;

/// <summary>
/// Export and unshard outputs appear whole or not at all: a run that fails leaves the previous
/// output byte for byte and no folder of its own; one that succeeds replaces the previous output
/// wholly; a destination that is not an output of this tool is refused with one line and untouched;
/// the debris of a run killed between its two renames is settled by the next run.
/// </summary>
public class AtomicOutputSpec : IDisposable
{
    /// <summary>A pid no process has (over the kernel's pid_max): the process that left such debris is gone.</summary>
    private const int DeadPid = 2_000_000_000;

    private readonly TempDirectory _dir = new();
    private readonly CheckpointStore _store;

    public AtomicOutputSpec()
    {
        _store = new CheckpointStore(new LocalBlobStore(Path.Combine(_dir.Path, "ckpt")));
        SavedCheckpoint.Save(_store, 1, world: 3);
        SavedCheckpoint.Save(_store, 2, world: 2);
    }

    public void Dispose() => _dir.Dispose();

    private string Out => Path.Combine(_dir.Path, "hf");

    /// <summary>Every file under <paramref name="root"/> (relative path) with its bytes, and every folder.</summary>
    private static SortedDictionary<string, string> Snapshot(string root)
    {
        var all = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var path in Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories))
            all[Path.GetRelativePath(root, path)] = Directory.Exists(path) ? "<folder>" : Convert.ToHexString(File.ReadAllBytes(path));
        return all;
    }

    /// <summary>The entries beside the checkpoint: the outputs and any hidden folder a run left.</summary>
    private string[] Beside() => Directory.EnumerateFileSystemEntries(_dir.Path).Select(Path.GetFileName).Where(n => n != "ckpt").Order(StringComparer.Ordinal).ToArray()!;

    /// <summary>Step 1 exported in two files and an index: the previous output the runs below must keep or replace.</summary>
    private SortedDictionary<string, string> PreviousExport()
    {
        var result = HuggingFaceExporter.Export(_store, 1, Out, new ExportOptions(MaxShardBytes: 100));
        Assert.Equal(2, result.Files.Count);
        var before = Snapshot(Out);
        Assert.Equal(new[] { OutputMarker.FileName, "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", HuggingFaceExporter.IndexFile }.Order(StringComparer.Ordinal), before.Keys);
        return before;
    }

    /// <summary>Fails the creation of every data file after the first <paramref name="k"/> were created, as a full disk would.</summary>
    private sealed class FullAfter(IBlobStore inner, int k) : DelegatingBlobStore(inner)
    {
        private int _created;

        public override IBlobWriter Create(string path)
        {
            if (path.EndsWith(".safetensors.tmp", StringComparison.Ordinal) && Interlocked.Increment(ref _created) > k) throw StorageErrors.DiskFull(path);
            return base.Create(path);
        }
    }

    public static TheoryData<string> Failures => new() { "disk full after the first file", "index write fails", "bad chunk checksum" };

    [Theory]
    [MemberData(nameof(Failures))]
    public void A_failed_export_should_leave_the_previous_export_byte_for_byte_and_nothing_else(string failure)
    {
        var before = PreviousExport();
        Func<IBlobStore, IBlobStore>? wrap = failure switch
        {
            "disk full after the first file" => s => new FullAfter(s, 1),
            "index write fails" => s => new FaultInjectingBlobStore(s, FaultPolicy.DiskFull(HuggingFaceExporter.IndexFile + ".tmp")),
            _ => null,
        };
        if (failure == "bad chunk checksum")
        {
            // One byte of w's first chunk in step 2, inside the tensor data: its block checksum no longer matches.
            var chunk = _store.ReadMetadata(2).Tensor("w").Chunks[0].Bytes;
            var file = Path.Combine(_dir.Path, "ckpt", CheckpointLayout.InStep(2, chunk.File));
            using var handle = File.OpenHandle(file, FileMode.Open, FileAccess.ReadWrite);
            var b = new byte[1];
            RandomAccess.Read(handle, b, chunk.Offset + 5);
            b[0] ^= 0x40;
            RandomAccess.Write(handle, b, chunk.Offset + 5);
        }

        var thrown = Record.Exception(() => HuggingFaceExporter.Export(_store, 2, Out, new ExportOptions(MaxShardBytes: 100), wrapOutput: wrap));

        // The files are written in parallel: a failure in one of them comes wrapped; a full disk is one line saying what is left.
        var cause = thrown is AggregateException { InnerExceptions.Count: 1 } all ? all.InnerExceptions[0] : thrown;
        Assert.NotNull(cause);
        Assert.True(failure == "bad chunk checksum"
            ? cause is ChecksumMismatchException
            : cause.Message.StartsWith("export stopped: No space left on device", StringComparison.Ordinal) && cause.Message.EndsWith($"; '{Out}' is left as it was", StringComparison.Ordinal),
            cause.ToString());
        Assert.Equal(before, Snapshot(Out));
        Assert.Equal(new[] { "hf" }, Beside());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_successful_export_should_replace_the_previous_one_wholly(bool exchange)
    {
        PreviousExport();

        // Step 2 in one file: the two files and the index of step 1 must all go.
        if (exchange)
        {
            HuggingFaceExporter.Export(_store, 2, Out, new ExportOptions());
        }
        else
        {
            // The two-rename path (NFS, not Linux), driven directly.
            var bytes = Encoding.UTF8.GetBytes("step 2");
            using var folder = OutputFolder.Begin(Out, "export", exchange: false);
            folder.Record(2, ["model.safetensors"]);
            using (var w = folder.Store.Create("model.safetensors"))
            {
                w.Write(bytes, 0);
                w.Flush();
            }
            folder.Commit();
        }

        Assert.Equal(new[] { OutputMarker.FileName, "model.safetensors" }, Snapshot(Out).Keys);
        Assert.Equal(new[] { "hf" }, Beside());
        if (exchange)
        {
            using var reader = new LocalBlobStore(Out).OpenRead("model.safetensors");
            var header = SafetensorsHeader.Read(reader, "model.safetensors");
            var w = header.Entries.Single(e => e.Name == "w");
            var values = new byte[w.Length];
            reader.ReadExactly(values, header.DataStart + w.Begin);
            Assert.Equal(Enumerable.Range(0, 32).SelectMany(i => BitConverter.GetBytes(i + 2000f)), values);
        }
        else Assert.Equal("step 2", File.ReadAllText(Path.Combine(Out, "model.safetensors")));
    }

    [Fact]
    public void An_export_may_follow_the_index_of_the_export_it_replaces()
    {
        PreviousExport();
        var reference = Path.Combine(Out, HuggingFaceExporter.IndexFile);

        var result = HuggingFaceExporter.Export(_store, 2, Out, new ExportOptions(ReferenceIndex: reference));

        Assert.Equal(new[] { "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors" }, result.Files);
        Assert.Contains("\"w\": \"model-00002-of-00002.safetensors\"", File.ReadAllText(reference));
        Assert.Equal(new[] { "hf" }, Beside());
    }

    public static TheoryData<string, string> Refused => new()
    {
        { "file", "--out '{out}' is a file; export writes a folder there: remove it or choose another --out" },
        { "link", "--out '{out}' is a symbolic link (to '{target}'); export neither follows nor replaces links: give the folder itself" },
        { "foreign", "--out '{out}' is a folder that actorckpt did not write (it holds 'config.json' and no .actorckpt-output.json): refusing to replace it; choose a new or empty folder" },
        { "added", "--out '{out}' holds 'config.json', which actorckpt did not write there: refusing to replace the folder; move it away or choose another --out" },
        { "added-folder", "--out '{out}' holds 'tokenizer', which actorckpt did not write there: refusing to replace the folder; move it away or choose another --out" },
        { "bad-marker", "--out '{out}' has a .actorckpt-output.json that actorckpt did not write (no \"format\": \"actorckpt-output\"): refusing to replace the folder" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void A_destination_that_is_not_an_output_of_this_tool_should_be_refused_in_one_line_and_left_untouched(string what, string expected)
    {
        var target = Path.Combine(_dir.Path, "elsewhere");
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "keep.txt"), "mine");
        switch (what)
        {
            case "file":
                File.WriteAllText(Out, "a file of the user's");
                break;
            case "link":
                Directory.CreateSymbolicLink(Out, target);
                break;
            case "foreign":
                Directory.CreateDirectory(Out);
                File.WriteAllText(Path.Combine(Out, "config.json"), "{}");
                break;
            case "added":
                PreviousExport();
                File.WriteAllText(Path.Combine(Out, "config.json"), "{}");
                break;
            case "added-folder":
                PreviousExport();
                Directory.CreateDirectory(Path.Combine(Out, "tokenizer"));
                break;
            default:
                PreviousExport();
                File.WriteAllText(Path.Combine(Out, OutputMarker.FileName), "{\"files\": []}");
                break;
        }
        var beforeOut = File.Exists(Out) ? File.ReadAllText(Out) : null;
        var before = Directory.Exists(Out) ? Snapshot(Out) : null;
        var beforeTarget = Snapshot(target);

        var thrown = Assert.Throws<OutputRefusedException>(() => HuggingFaceExporter.Export(_store, 2, Out, new ExportOptions()));

        Assert.Equal(expected.Replace("{out}", Out).Replace("{target}", target), thrown.Message);
        Assert.Equal(beforeOut, File.Exists(Out) ? File.ReadAllText(Out) : null);
        if (what == "link") Assert.Equal(target, new FileInfo(Out).LinkTarget);
        else Assert.Equal(before, Directory.Exists(Out) ? Snapshot(Out) : null);
        Assert.Equal(beforeTarget, Snapshot(target));
        Assert.Equal(new[] { "elsewhere", "hf" }, Beside());
    }

    [Fact]
    public void A_destination_where_no_folder_can_be_made_should_be_refused_naming_it_not_the_hidden_folder()
    {
        // Before: "Could not find file '/proc/.actorckpt-export.partial-…'".
        var refused = Assert.Throws<IOException>(() => OutputFolder.Begin("/proc/actorckpt-export", "export"));
        Assert.Equal("cannot write '/proc/actorckpt-export': no folder can be made in '/proc' (the file system takes no new folder there)", refused.Message);
    }

    [Fact]
    public void An_export_stopped_by_a_full_disk_should_name_the_destination_not_the_hidden_folder_and_say_nothing_was_written()
    {
        // The second data file's creation fails as a full disk fails it, naming the file where it is: in the hidden folder.
        var thrown = Assert.Throws<IOException>(() => HuggingFaceExporter.Export(_store, 1, Out, new ExportOptions(MaxShardBytes: 100, Parallelism: 1),
            wrapOutput: s => new FullAt(s, "model-00002-of-00002.safetensors.tmp")));

        Assert.Equal($"export stopped: No space left on device : '{Path.Combine(Out, "model-00002-of-00002.safetensors.tmp")}'; nothing was written to '{Out}'", thrown.Message);
        Assert.False(Directory.Exists(Out));
        Assert.Empty(Beside());
    }

    /// <summary>Fails the creation of <paramref name="file"/> as a full disk would, naming its full path.</summary>
    private sealed class FullAt(IBlobStore inner, string file) : DelegatingBlobStore(inner)
    {
        public override IBlobWriter Create(string path) => path == file ? throw StorageErrors.DiskFull(Path.Combine(inner.Root, path)) : base.Create(path);
    }

    [Fact]
    public void An_empty_folder_should_be_written_into()
    {
        Directory.CreateDirectory(Out);

        HuggingFaceExporter.Export(_store, 2, Out, new ExportOptions());

        Assert.Equal(new[] { OutputMarker.FileName, "model.safetensors" }, Snapshot(Out).Keys);
        Assert.Equal(new[] { "hf" }, Beside());
    }

    /// <summary>A complete export of <paramref name="step"/> moved to <paramref name="name"/> beside the destination, as a run leaves it.</summary>
    private SortedDictionary<string, string> ExportAs(long step, string name)
    {
        var scratch = Path.Combine(_dir.Path, "scratch");
        HuggingFaceExporter.Export(_store, step, scratch, new ExportOptions(MaxShardBytes: 100));
        var snapshot = Snapshot(scratch);
        Directory.Move(scratch, Path.Combine(_dir.Path, name));
        return snapshot;
    }

    [Fact]
    public void A_run_killed_between_its_two_renames_should_leave_the_previous_output_whole_at_the_next_run()
    {
        // The fallback's first rename done (the previous output aside), the second not: the destination is missing.
        var previous = ExportAs(1, OutputDebris.Name("hf", OutputDebris.Old, DeadPid, "00c0ffee"));
        ExportAs(2, OutputDebris.Name("hf", OutputDebris.Partial, DeadPid, "0000beef"));

        OutputDebris.Recover(_dir.Path, "hf");

        Assert.Equal(previous, Snapshot(Out));
        Assert.Equal(new[] { "hf" }, Beside());
    }

    [Fact]
    public void A_run_killed_after_its_second_rename_should_leave_the_new_output_whole_at_the_next_run()
    {
        ExportAs(1, OutputDebris.Name("hf", OutputDebris.Old, DeadPid, "00c0ffee"));
        var written = ExportAs(2, "hf");

        OutputDebris.Recover(_dir.Path, "hf");

        Assert.Equal(written, Snapshot(Out));
        Assert.Equal(new[] { "hf" }, Beside());
    }

    [Fact]
    public void The_next_export_should_remove_a_killed_runs_folder_and_leave_a_live_ones_alone()
    {
        var before = PreviousExport();
        var killed = OutputDebris.Name("hf", OutputDebris.Partial, DeadPid, "0000beef");
        var running = OutputDebris.Name("hf", OutputDebris.Partial, 1, "0000cafe"); // pid 1 always runs
        var unrelated = ".hf.actorckpt-partial-notapid";
        foreach (var name in new[] { killed, running, unrelated })
        {
            Directory.CreateDirectory(Path.Combine(_dir.Path, name));
            File.WriteAllText(Path.Combine(_dir.Path, name, "model-00001-of-00002.safetensors"), "half");
        }

        HuggingFaceExporter.Export(_store, 2, Out, new ExportOptions(MaxShardBytes: 100));

        Assert.NotEqual(before, Snapshot(Out));
        Assert.Equal(new[] { running, unrelated, "hf" }.Order(StringComparer.Ordinal), Beside());
    }

    [Fact]
    public void A_failed_unshard_should_leave_the_previous_unshard_and_a_successful_one_replace_it()
    {
        var first = Unsharder.Unshard(_store, 1, Out, UnshardStrategy.OneFilePerTensor, 1, optim: false);
        Assert.Equal(new[] { "model/b.safetensors", "model/w.safetensors" }, first.Files.Order(StringComparer.Ordinal));
        var before = Snapshot(Out);

        var thrown = Assert.Throws<IOException>(() => Unsharder.Unshard(_store, 2, Out, UnshardStrategy.OneFile, 1, optim: false, wrapOutput: s => new FullAfter(s, 0)));
        Assert.Equal($"unshard stopped: No space left on device : 'model.safetensors.tmp'; '{Out}' is left as it was", thrown.Message);
        Assert.Equal(before, Snapshot(Out));
        Assert.Equal(new[] { "hf" }, Beside());

        Unsharder.Unshard(_store, 2, Out, UnshardStrategy.OneFile, 1, optim: false);
        Assert.Equal(new[] { OutputMarker.FileName, "model.safetensors" }, Snapshot(Out).Keys);
        Assert.Equal(new[] { "hf" }, Beside());
    }
}
