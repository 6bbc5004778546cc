namespace ActorCkpt.Io.Tests;

/// <summary>Interrupts abandon every output of the process (<see cref="OutputFolder.AbandonAll"/>): these tests run alone.</summary>
[CollectionDefinition("output interrupts", DisableParallelization = true)]
public sealed class OutputInterruptCollection;

/// <summary>
/// An interrupted export or unshard (SIGINT, SIGTERM: <see cref="OutputFolder.AbandonAll"/>) leaves
/// nothing behind, though its writing threads run on until the process exits.
/// </summary>
[Collection("output interrupts")]
public sealed class OutputInterruptSpec : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose()
    {
        OutputFolder.ForgetInterrupt();
        _dir.Dispose();
    }

    /// <summary>Interrupts the run as a writing thread is about to make the folder of its next file.</summary>
    private sealed class InterruptAtSecondFolder(IBlobStore inner, List<string> left, string parent) : DelegatingBlobStore(inner)
    {
        private int _calls;

        public override void CreateDirectory(string path)
        {
            if (Interlocked.Increment(ref _calls) == 2) OutputFolder.AbandonAll();
            try
            {
                base.CreateDirectory(path);
            }
            finally
            {
                lock (left) left.AddRange(Directory.GetDirectories(parent, ".out.actorckpt-partial-*"));
            }
        }
    }

    [Fact]
    public void A_writer_still_running_after_an_interrupt_should_not_make_the_removed_folder_again()
    {
        var store = new CheckpointStore(new LocalBlobStore(Path.Combine(_dir.Path, "ckpt")));
        SavedCheckpoint.Save(store, 1, world: 2);
        var left = new List<string>();

        // One file per tensor: each file is in a folder of its own, made first.
        var thrown = Record.Exception(() => Unsharder.Unshard(store, 1, Path.Combine(_dir.Path, "out"), UnshardStrategy.OneFilePerTensor, 1, optim: false,
            wrapOutput: s => new InterruptAtSecondFolder(s, left, _dir.Path)));

        Assert.NotNull(thrown);
        // The first folder was made before the interrupt; after it, the hidden folder never comes back.
        Assert.Empty(left.Skip(1));
        Assert.Equal(["ckpt"], Directory.GetFileSystemEntries(_dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void An_output_begun_after_the_interrupt_should_be_refused_and_leave_nothing()
    {
        var store = new CheckpointStore(new LocalBlobStore(Path.Combine(_dir.Path, "ckpt")));
        SavedCheckpoint.Save(store, 1, world: 2);

        // The signal's handler ran before the output began; the process ends once it returns, but the
        // main thread runs on meanwhile. Before, it made the hidden folder and wrote files into it then.
        OutputFolder.AbandonAll();
        var refused = Assert.Throws<OperationCanceledException>(() => HuggingFaceExporter.Export(store, 1, Path.Combine(_dir.Path, "out"), new ExportOptions(1 << 20, ExportDType.Keep, null)));

        Assert.Equal("export was interrupted before it began its output", refused.Message);
        Assert.Equal(["ckpt"], Directory.GetFileSystemEntries(_dir.Path).Select(Path.GetFileName));
    }
}
