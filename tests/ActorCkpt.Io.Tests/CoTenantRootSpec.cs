using static ActorCkpt.Io.Tests.UntrustedFiles;

namespace ActorCkpt.Io.Tests;

/// <summary>
/// What another program can leave in a root beside the checkpoints: a second name for a step, or
/// something other than a file where the lock's holder record goes. Nothing of it hangs, loops or
/// keeps the root locked.
/// </summary>
public class CoTenantRootSpec : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Lock => CheckpointLayout.CatalogLockFile;

    private string HolderFile => Path.Combine(_dir.Path, CheckpointLayout.LockHolderFile(CheckpointLayout.CatalogLockFile));

    [Fact]
    public void A_checkpoint_root_removed_while_in_use_should_not_be_made_again_by_the_next_save()
    {
        var root = Path.Combine(_dir.Path, "root");
        var store = BlobStores.Open(root, new ObjectStoreOptions());
        store.CreateDirectory("step-00000001");
        Directory.Delete(root, recursive: true);

        // Before, mkdir -p made the root again, empty: the job saved on into a root with no catalog.
        var e = Assert.Throws<DirectoryNotFoundException>(() => store.CreateDirectory("step-00000002"));
        Assert.Equal($"the checkpoint root '{root}' is gone: it was removed while in use, and is not made again", e.Message);
        Assert.False(Directory.Exists(root));
        // A folder of another kind (an export's, a replica store's) is made again as before.
        var other = new LocalBlobStore(Path.Combine(_dir.Path, "other"));
        Directory.Delete(other.Root);
        other.CreateDirectory("x");
        Assert.True(Directory.Exists(Path.Combine(other.Root, "x")));
    }

    [Theory]
    [InlineData("step-00000003", 3L)]
    [InlineData("step-123456789", 123456789L)]
    [InlineData("step-3", -1L)]
    [InlineData("step-0000000003", -1L)]
    [InlineData("step-+0000003", -1L)]
    public void Only_the_name_a_save_gives_a_step_should_name_it(string name, long step)
    {
        Assert.Equal(step >= 0, CheckpointLayout.TryParseStepDirectory(name, out var parsed));
        Assert.Equal(step, parsed);
    }

    [Fact]
    public void A_copy_of_a_step_under_another_padding_should_not_be_a_second_step_3()
    {
        // Before, the scan listed step 3 twice, and the planner's reconciliation threw on the duplicate key at every restart.
        var store = new CheckpointStore(new LocalBlobStore(_dir.Path));
        SavedCheckpoint.Save(store, 3, world: 2);
        CopyDirectory(Path.Combine(_dir.Path, "step-00000003"), Path.Combine(_dir.Path, "step-0000000003"));

        Assert.Equal(new long[] { 3 }, store.CommittedSteps());
    }

    [Fact]
    public async Task A_FIFO_as_the_holder_record_of_a_held_lock_should_not_block_the_refusal()
    {
        var blobs = new LocalBlobStore(_dir.Path);
        using var held = blobs.Lock(Lock);
        File.Delete(HolderFile);
        MakeFifo(HolderFile);

        var refused = await Refused<LockHeldException>(() => new LocalBlobStore(_dir.Path).Lock(Lock).Dispose());

        Assert.Null(refused.Holder);
    }

    [Fact]
    public void A_link_where_the_holder_record_goes_should_be_replaced_not_followed()
    {
        // Before, the link made every take of a free lock fail as "locked by another holder", the process holding its own lock.
        var victim = Path.Combine(_dir.Path, "victim.txt");
        File.WriteAllText(victim, "not the lock's");
        File.CreateSymbolicLink(HolderFile, victim);
        var blobs = new LocalBlobStore(_dir.Path);

        using (blobs.Lock(Lock))
        {
            Assert.Null(new FileInfo(HolderFile).LinkTarget);
            Assert.Equal(Environment.ProcessId, LockHolder.Parse(File.ReadAllText(HolderFile))!.ProcessId);
        }

        Assert.Equal("not the lock's", File.ReadAllText(victim));
        Assert.False(File.Exists(HolderFile));
    }

    [Fact]
    public void A_directory_where_the_holder_record_goes_should_be_named_and_the_lock_let_go()
    {
        Directory.CreateDirectory(HolderFile);
        var blobs = new LocalBlobStore(_dir.Path);

        var e = Assert.Throws<IOException>(() => blobs.Lock(Lock));

        Assert.Equal($"'{HolderFile}' is a directory where the lock's holder record goes: remove it", e.Message);
        Directory.Delete(HolderFile);
        blobs.Lock(Lock).Dispose();
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
    }
}
