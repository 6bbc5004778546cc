using static ActorCkpt.Io.Tests.ReplicaFixtures;

namespace ActorCkpt.Io.Tests;

/// <summary>
/// Evicted replicas kept as spares (<see cref="ReplicaStore.Recycle"/>): the next replica written on
/// the host overwrites one in place, whatever its old length, and reads exactly as a fresh one;
/// spares are never listed as replicas, and unclaimed ones are released.
/// </summary>
public class ReplicaRecyclingSpec : IDisposable
{
    private readonly ShmDirectory _shm = new();
    private readonly string _ns = ReplicaLayout.Namespace("/checkpoints/job-19");
    private static readonly Guid SaveId = Guid.Parse("11111111-2222-3333-4444-555555555555");

    public void Dispose() => _shm.Dispose();

    private ReplicaStore Store(string host = "h0") => new(_shm.Path, _ns, host);

    private static string SpareDirectory(ReplicaStore store) => Path.Combine(store.Root, ReplicaLayout.SpareDirectory);

    private static string[] Spares(ReplicaStore store) =>
        Directory.Exists(SpareDirectory(store)) ? Directory.GetFiles(SpareDirectory(store)).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal).ToArray() : [];

    /// <summary>A plan like <see cref="ReplicaFixtures.Plan"/> with its tensor <paramref name="elements"/> long.</summary>
    private static FileWritePlan Sized(string name, long elements) => new(name, 0, 0, new[]
    {
        WriteItem.ForTensor("a", 0, 0, DType.Float32, new[] { elements }, TensorBox.Whole(new[] { elements })),
        WriteItem.ForObject("c", 0, 1, ObjectScope.Rank, 1000),
    });

    /// <summary>The replica's file bytes, header and payload.</summary>
    private static byte[] FileOf(ReplicaStore store, long step, string file) =>
        File.ReadAllBytes(Path.Combine(store.Root, ReplicaLayout.StepDirectory(step), ReplicaLayout.ReplicaName(file)));

    [Fact]
    public void A_recycled_replica_should_become_a_spare_that_the_next_replica_overwrites_without_a_new_file()
    {
        var store = Store();
        var plan = Plan("r00000-000-t.safetensors");
        Write(store, 8, SaveId, plan, Data(plan, 1));
        var bytes = store.List().Held.Single().FileBytes;

        Assert.Equal(bytes, store.Recycle(8));
        Assert.Empty(store.List().Held);
        Assert.Empty(store.List().Unreadable);
        Assert.False(Directory.Exists(Path.Combine(store.Root, "step-00000008")));
        var spare = Assert.Single(Spares(store));
        Assert.True(ReplicaLayout.IsSpareName(spare));
        Assert.Equal((0L, bytes), (store.Usage().FileBytes, store.Usage().SpareBytes));

        var data = Data(plan, 2);
        var result = Write(store, 9, SaveId, plan, data);
        Assert.Empty(Spares(store));
        Assert.Equal((bytes, 0L), (store.Usage().FileBytes, store.Usage().SpareBytes));
        // As a fresh store writes it, byte for byte, and its checksums hold.
        var fresh = Store("fresh");
        Assert.Null(ResultDifference.Between(Write(fresh, 9, SaveId, plan, data), result));
        Assert.Equal(FileOf(fresh, 9, plan.FileName), FileOf(store, 9, plan.FileName));
        Assert.Null(store.Verify(store.List().Held.Single()));
    }

    [Theory]
    [InlineData(300_000, 70_000)] // a longer spare is cut to the replica
    [InlineData(70_000, 300_000)] // a shorter one grows
    public void A_spare_of_another_length_should_give_the_replica_a_fresh_one_would_have(long spareElements, long elements)
    {
        var store = Store();
        var old = Sized("r00000-000-old.safetensors", spareElements);
        Write(store, 1, SaveId, old, Data(old, 3));
        store.Recycle(1);

        var plan = Sized("r00000-000-new.safetensors", elements);
        var data = Data(plan, 4);
        Write(store, 2, SaveId, plan, data);
        Assert.Empty(Spares(store));

        var fresh = Store("fresh");
        Write(fresh, 2, SaveId, plan, data);
        Assert.Equal(FileOf(fresh, 2, plan.FileName), FileOf(store, 2, plan.FileName));
        Assert.Null(store.Verify(store.List().Held.Single()));
    }

    [Fact]
    public void The_smallest_spare_that_holds_a_replica_should_be_claimed_first()
    {
        var store = Store();
        var sizes = new long[] { 20_000, 400_000, 90_000 };
        for (var i = 0; i < sizes.Length; i++)
        {
            var p = Sized($"r0000{i}-000-s.safetensors", sizes[i]);
            Write(store, 1, SaveId, p, Data(p, i));
        }
        var lengths = store.List().Held.ToDictionary(h => h.DataFile, h => h.FileBytes);
        store.Recycle(1);

        // 80,000 floats: the 90,000 one is the smallest spare it fits in; the other two stay.
        var plan = Sized("r00000-000-n.safetensors", 80_000);
        Write(store, 2, SaveId, plan, Data(plan, 9));
        var left = Directory.GetFiles(SpareDirectory(store)).Select(f => new FileInfo(f).Length).Order();
        Assert.Equal(new[] { lengths["r00000-000-s.safetensors"], lengths["r00001-000-s.safetensors"] }.Order(), left);
    }

    [Fact]
    public void Recycle_should_delete_temporary_files_and_leave_other_steps_alone()
    {
        var store = Store();
        var plan = Plan("r00000-000-t.safetensors");
        Write(store, 3, SaveId, plan, Data(plan, 1));
        Write(store, 4, SaveId, plan, Data(plan, 2));
        using (var unfinished = store.Create(3, SaveId, Plan("r00001-000-t.safetensors", 1), MaxBlock, Meta))
        {
            unfinished.Append(0, 0, new byte[100]);
            var kept = store.Recycle(3);
            Assert.Equal(store.Usage().SpareBytes, kept);
        }
        Assert.Single(Spares(store));
        Assert.False(Directory.Exists(Path.Combine(store.Root, "step-00000003")));
        Assert.Equal(new[] { 4L }, store.List().Held.Select(h => h.Step));
    }

    [Fact]
    public void ReleaseSpares_should_delete_spares_that_waited_long_enough_and_tmpfs_use_should_fall()
    {
        var store = Store();
        var plan = Plan("r00000-000-t.safetensors");
        Write(store, 5, SaveId, plan, Data(plan, 1));
        var kept = store.Recycle(5);

        Assert.Equal((0, 0L), store.ReleaseSpares(TimeSpan.FromHours(1)));
        Assert.Single(Spares(store));

        // statfs counts every user of the file system: the fall is looked for over a few releases.
        var released = store.ReleaseSpares(TimeSpan.Zero);
        Assert.Equal((1, kept), released);
        Assert.Empty(Spares(store));
        Assert.Equal(0, store.Usage().SpareBytes);
        var fell = false;
        for (var attempt = 0; attempt < 5 && !fell; attempt++)
        {
            Write(store, 20 + attempt, SaveId, plan, Data(plan, attempt));
            store.Recycle(20 + attempt);
            var used = store.Usage().TmpfsUsed;
            var (_, bytes) = store.ReleaseSpares(TimeSpan.Zero);
            fell = used - store.Usage().TmpfsUsed >= bytes;
        }
        Assert.True(fell, "tmpfs use did not fall by the spare bytes released in 5 attempts");
    }

    [Fact]
    public void Processes_of_one_host_should_share_its_spares_and_never_claim_one_twice()
    {
        var (first, second) = (Store(), Store());
        var plan = Plan("r00000-000-t.safetensors");
        Write(first, 1, SaveId, plan, Data(plan, 1));
        first.Recycle(1);

        // One spare, two writers: the first takes it, the second starts a fresh file.
        using var a = second.Create(2, SaveId, plan, MaxBlock, Meta);
        using var b = first.Create(2, SaveId, Plan("r00001-000-t.safetensors", 1), MaxBlock, Meta);
        Assert.Empty(Spares(first));
        Assert.Equal(2, Directory.GetFiles(Path.Combine(first.Root, "step-00000002")).Length);
    }

    [Fact]
    public void Links_FIFOs_and_other_names_in_the_spare_directory_should_never_be_claimed()
    {
        var store = Store();
        var spares = Directory.CreateDirectory(SpareDirectory(store)).FullName;
        var target = Path.Combine(_shm.Path, "target");
        File.WriteAllBytes(target, new byte[1 << 20]);
        File.CreateSymbolicLink(Path.Combine(spares, "link.spare"), target);
        Assert.Equal(0, Mkfifo(Path.Combine(spares, "fifo.spare")));
        File.WriteAllBytes(Path.Combine(spares, "not-a-spare"), new byte[1 << 20]);

        var plan = Plan("r00000-000-t.safetensors");
        var data = Data(plan, 1);
        Write(store, 1, SaveId, plan, data);

        Assert.Equal(new byte[1 << 20], File.ReadAllBytes(target));
        Assert.Equal(new[] { "fifo.spare", "link.spare", "not-a-spare" }, Spares(store));
        Assert.Equal(0, store.Usage().SpareBytes);
        Assert.Null(store.Verify(store.List().Held.Single()));
        Assert.Equal((0, 0L), store.ReleaseSpares(TimeSpan.Zero));
    }

    [Fact]
    public void A_link_in_place_of_the_spare_directory_should_never_be_entered()
    {
        var store = Store();
        var elsewhere = Directory.CreateDirectory(Path.Combine(_shm.Path, "elsewhere")).FullName;
        File.WriteAllBytes(Path.Combine(elsewhere, "abc.spare"), new byte[1 << 20]);
        Directory.CreateSymbolicLink(SpareDirectory(store), elsewhere);

        var plan = Plan("r00000-000-t.safetensors");
        Write(store, 1, SaveId, plan, Data(plan, 1));

        Assert.Equal(new byte[1 << 20], File.ReadAllBytes(Path.Combine(elsewhere, "abc.spare")));
        Assert.Equal((0, 0L), store.ReleaseSpares(TimeSpan.Zero));
        Assert.True(File.Exists(Path.Combine(elsewhere, "abc.spare")));
        Assert.Throws<IOException>(() => store.Recycle(1));
        Assert.Single(store.List().Held);
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int mkfifo(string path, uint mode);

    private static int Mkfifo(string path) => mkfifo(path, Convert.ToUInt32("600", 8));
}
