using System.Diagnostics;
using static ActorCkpt.Io.Tests.ReplicaFixtures;

namespace ActorCkpt.Io.Tests;

/// <summary>The tmpfs replica store (under /dev/shm when there is one): what it writes, publishes, lists after a restart, verifies, drops and cleans up.</summary>
public class ReplicaStoreSpec : IDisposable
{
    private readonly ShmDirectory _shm = new();
    private readonly TempDirectory _disk = new();
    private readonly string _ns = ReplicaLayout.Namespace("/checkpoints/job-19");
    private static readonly Guid SaveId = Guid.Parse("11111111-2222-3333-4444-555555555555");

    public void Dispose()
    {
        _shm.Dispose();
        _disk.Dispose();
    }

    private ReplicaStore Store(string host = "h0") => new(_shm.Path, _ns, host);

    private string ReplicaPath(ReplicaStore store, long step, string file) =>
        Path.Combine(store.Root, ReplicaLayout.StepDirectory(step), ReplicaLayout.ReplicaName(file));

    [Fact]
    public void The_payload_should_be_byte_equal_to_the_data_file_written_to_disk_with_an_equal_result()
    {
        var store = Store();
        var plan = Plan("r00000-000-t.safetensors");
        var data = Data(plan, 1);
        var disk = new LocalBlobStore(_disk.Path);
        disk.CreateDirectory("s");

        var onDisk = DataFileBufferWriter.Write(disk, "s", plan, data.Select(d => (ReadOnlyMemory<byte>)d).ToArray(), MaxBlock, Meta);
        var replica = Write(store, 3, SaveId, plan, data);

        using var payload = store.OpenRead(3, plan.FileName, out var header);
        Assert.Equal(File.ReadAllBytes(Path.Combine(_disk.Path, "s", plan.FileName)), ReadAll(payload));
        Assert.Null(ResultDifference.Between(onDisk, replica));
        Assert.Null(ResultDifference.Between(onDisk, header.Result));
        Assert.Equal(new FileInfo(ReplicaPath(store, 3, plan.FileName)).Length, header.HeaderLength + onDisk.Length);
        Assert.Equal((3L, SaveId, 0), (header.Step, header.SaveId, header.Rank));
    }

    [Fact]
    public void Nothing_should_be_listed_before_Complete_and_a_writer_disposed_before_it_should_leave_nothing()
    {
        var store = Store();
        var plan = Plan("r00000-000-t.safetensors");
        var data = Data(plan, 2);
        var stepDir = Path.Combine(store.Root, "step-00000005");

        using (var writer = store.Create(5, SaveId, plan, MaxBlock, Meta))
        {
            for (var i = 0; i < data.Length; i++) writer.Append(i, 0, data[i]);
            var scan = store.List();
            Assert.Empty(scan.Held);
            Assert.Empty(scan.Unreadable); // the temporary file is not a replica, not even a bad one
            Assert.Single(Directory.GetFiles(stepDir));
            Assert.Throws<FileNotFoundException>(() => store.OpenRead(5, plan.FileName));
            writer.Complete();
        }
        Assert.Equal(new[] { plan.FileName }, store.List().Held.Select(h => h.DataFile));

        using (var abandoned = store.Create(5, SaveId, Plan("r00001-000-t.safetensors", 1), MaxBlock, Meta))
            abandoned.Append(0, 0, data[0].AsSpan(0, 1000));
        Assert.Equal(new[] { ReplicaLayout.ReplicaName(plan.FileName) }, Directory.GetFiles(stepDir).Select(Path.GetFileName));
        Assert.Single(store.List().Held);
    }

    [Fact]
    public void A_copy_dropped_while_it_was_written_should_be_deleted_at_its_end_not_published()
    {
        var store = Store();
        var (late, other) = (Plan("r00000-000-t.safetensors"), Plan("r00001-000-t.safetensors", 1));
        var stepDir = Path.Combine(store.Root, "step-00000005");
        using (var writer = store.Create(5, SaveId, late, MaxBlock, Meta))
        {
            var data = Data(late, 3);
            for (var i = 0; i < data.Length; i++) writer.Append(i, 0, data[i]);
            // The round ends without this copy: its holder drops it by name while the writer still writes.
            store.Drop(5, [late.FileName]);

            var e = Assert.Throws<ActorCkptException>(() => writer.Complete());
            Assert.Contains($"'{late.FileName}' of step 5 on host 'h0' was dropped while it was written", e.Message);
        }
        Assert.Empty(store.List().Held);
        Assert.False(Directory.Exists(stepDir) && Directory.EnumerateFileSystemEntries(stepDir).Any());

        // Another file of the step, not dropped, is published as ever.
        Write(store, 5, SaveId, other, Data(other, 4));
        Assert.Equal([other.FileName], store.List().Held.Select(h => h.DataFile));
    }

    [Fact]
    public async Task A_copy_from_a_peer_of_a_step_dropped_before_it_was_copied_should_not_be_published()
    {
        var (source, target) = (Store("h0"), Store("h1"));
        var plan = Plan("r00000-000-t.safetensors");
        Write(source, 5, SaveId, plan, Data(plan, 5));
        using var payload = source.OpenRead(5, plan.FileName, out var header);
        Task Read(long at, Memory<byte> into)
        {
            payload.ReadExactly(into.Span, at);
            return Task.CompletedTask;
        }

        // The planner let the step go on h1 as it asked h1 to make the copy: before, the copy was
        // published into a step no round holds, counted by no budget.
        target.Drop(5, [plan.FileName]);
        var e = await Assert.ThrowsAsync<ActorCkptException>(() => target.CopyAsync(header, Read, 64 << 10));

        Assert.Equal($"the copy of '{plan.FileName}' of step 5 on host 'h1' was dropped while it was copied", e.Message);
        Assert.Empty(target.List().Held);
        var stepDir = Path.Combine(target.Root, ReplicaLayout.StepDirectory(5));
        Assert.False(Directory.Exists(stepDir) && Directory.EnumerateFileSystemEntries(stepDir).Any());
        // A copy of a step not dropped is published as ever.
        var other = Plan("r00000-000-u.safetensors");
        Write(source, 6, SaveId, other, Data(other, 6));
        using var otherPayload = source.OpenRead(6, other.FileName, out var otherHeader);
        await target.CopyAsync(otherHeader, (at, into) =>
        {
            otherPayload.ReadExactly(into.Span, at);
            return Task.CompletedTask;
        }, 64 << 10);
        Assert.Equal([other.FileName], target.List().Held.Select(h => h.DataFile));
    }

    [Fact]
    public void RemoveDebris_should_keep_temporary_files_of_live_processes_and_remove_those_of_dead_ones()
    {
        var store = Store();
        var plan = Plan("r00000-000-t.safetensors");
        using var live = store.Create(2, SaveId, plan, MaxBlock, Meta);
        live.Append(1, 0, new byte[10]);
        using var exited = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        exited.WaitForExit();
        var dead = Path.Combine(store.Root, "step-00000002", ReplicaLayout.TempName("r00009-000-t.safetensors", exited.Id, "abcd1234"));
        File.WriteAllBytes(dead, new byte[100]);

        Assert.Equal(1, store.RemoveDebris());

        Assert.False(File.Exists(dead));
        var left = Assert.Single(Directory.GetFiles(Path.Combine(store.Root, "step-00000002")));
        Assert.True(ReplicaLayout.TryParse(Path.GetFileName(left), out var file, out var pid));
        Assert.Equal((plan.FileName, (int?)Environment.ProcessId), (file, pid));
        Assert.Equal(0, store.RemoveDebris());
    }

    [Fact]
    public void RemoveDebris_should_remove_a_step_directory_it_leaves_empty()
    {
        var store = Store();
        using var exited = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        exited.WaitForExit();
        // A round killed mid-write: only its temporary file is in the step's directory.
        var step = Path.Combine(store.Root, "step-00000002");
        Directory.CreateDirectory(step);
        File.WriteAllBytes(Path.Combine(step, ReplicaLayout.TempName("r00000-000-t.safetensors", exited.Id, "abcd1234")), new byte[100]);

        Assert.Equal(1, store.RemoveDebris());

        // Before, the empty directory stayed on tmpfs for good (the aborted step's, under the host's directory).
        Assert.False(Directory.Exists(step));
    }

    [Fact]
    public void A_new_store_on_the_same_directory_should_list_the_same_replicas()
    {
        var before = Store();
        var other = Guid.NewGuid();
        var results = new[]
        {
            (Step: 4L, Id: SaveId, Plan: Plan("r00000-000-t.safetensors", 0)),
            (Step: 4L, Id: SaveId, Plan: Plan("r00001-000-t.safetensors", 1)),
            (Step: 6L, Id: other, Plan: Plan("r00000-000-u.safetensors", 0)),
        }.Select(r => (r.Step, r.Id, r.Plan, Result: Write(before, r.Step, r.Id, r.Plan, Data(r.Plan, (int)r.Step + r.Plan.Rank)))).ToArray();

        var after = new ReplicaStore(_shm.Path, _ns, "h0").List();

        Assert.Empty(after.Unreadable);
        Assert.Equal(results.Select(r => (r.Step, r.Id, r.Plan.Rank, r.Plan.FileName)), after.Held.Select(h => (h.Step, h.SaveId, h.Rank, h.DataFile)));
        for (var i = 0; i < results.Length; i++)
        {
            Assert.Null(ResultDifference.Between(results[i].Result, after.Held[i].Result));
            Assert.Equal(new FileInfo(ReplicaPath(before, results[i].Step, results[i].Plan.FileName)).Length, after.Held[i].FileBytes);
            Assert.Null(before.Verify(after.Held[i]));
        }
    }

    [Fact]
    public void A_flipped_payload_byte_should_make_Verify_name_the_file_the_item_and_the_block()
    {
        var store = Store();
        var plan = Plan("r00000-000-t.safetensors");
        var result = Write(store, 1, SaveId, plan, Data(plan, 3));
        var held = Assert.Single(store.List().Held);
        var path = ReplicaPath(store, 1, plan.FileName);
        var a = result.Items[0].Bytes;

        Flip(path, 4096 + a.Offset + 2 * MaxBlock + 17);
        Assert.Equal($"'{path}': item '{result.Items[0].StorageName}' block 2 (bytes 131072..196608 of the item) has checksum ", store.Verify(held)![..^53]);
        Assert.EndsWith($"; the header records {BlockChecksums.ToHex(a.BlockChecksums[2])}", store.Verify(held));
        Flip(path, 4096 + a.Offset + 2 * MaxBlock + 17);
        Assert.Null(store.Verify(held));

        Flip(path, 4096 + 20); // inside the safetensors header of the payload
        Assert.Matches($"^'{path}': the safetensors header has checksum [0-9a-f]{{16}}; the header records {result.HeaderChecksum}$", store.Verify(held));
    }

    [Fact]
    public async Task A_FIFO_or_a_symbolic_link_in_place_of_a_replica_should_be_refused_without_waiting()
    {
        var store = Store();
        var plan = Plan("r00000-000-t.safetensors");
        Write(store, 1, SaveId, plan, Data(plan, 4));
        var path = ReplicaPath(store, 1, plan.FileName);
        var elsewhere = Path.Combine(_disk.Path, "elsewhere.replica");
        File.Copy(path, elsewhere);

        UntrustedFiles.MakeFifo(path);
        var fifo = await UntrustedFiles.Refused<NotARegularFileException>(() => store.OpenRead(1, plan.FileName));
        Assert.Equal($"'{path}' is a FIFO, not a regular file", fifo.Message);
        var scan = await UntrustedFiles.Bounded(store.List);
        Assert.Empty(scan.Held);
        Assert.Equal(new[] { $"'{path}' is a FIFO, not a regular file" }, scan.Unreadable);

        File.Delete(path);
        File.CreateSymbolicLink(path, elsewhere);
        await UntrustedFiles.Refused<UnauthorizedAccessException>(() => store.OpenRead(1, plan.FileName));
        scan = await UntrustedFiles.Bounded(store.List);
        Assert.Empty(scan.Held);
        Assert.Contains("goes through the symbolic link", Assert.Single(scan.Unreadable));
    }

    [Fact]
    public void Drop_should_return_the_bytes_freed_and_usage_should_fall_by_them()
    {
        var store = Store();
        var plans = new[] { Plan("r00000-000-t.safetensors", 0), Plan("r00001-000-t.safetensors", 1) };
        foreach (var p in plans) Write(store, 8, SaveId, p, Data(p, p.Rank));
        Write(store, 9, SaveId, plans[0], Data(plans[0], 5));
        var held = store.List().Held;
        var before = store.Usage();

        var freed = store.Drop(8, new[] { plans[1].FileName });
        Assert.Equal(held.Single(h => h.Step == 8 && h.Rank == 1).FileBytes, freed);
        Assert.Equal(before.FileBytes - freed, store.Usage().FileBytes);
        Assert.Equal(new[] { (8L, plans[0].FileName), (9L, plans[0].FileName) }, store.List().Held.Select(h => (h.Step, h.DataFile)));

        var rest = store.Drop(8);
        Assert.Equal(held.Single(h => h.Step == 8 && h.Rank == 0).FileBytes, rest);
        Assert.False(Directory.Exists(Path.Combine(store.Root, "step-00000008")));
        Assert.Equal(held.Single(h => h.Step == 9).FileBytes, store.Usage().FileBytes);
        Assert.Equal(0, store.Drop(8));
        Assert.True(before.TmpfsSize > 0);

        // statfs counts every user of the file system, and other processes write to it meanwhile: the
        // fall is looked for over a few drops, each of which must free at least its own bytes.
        var fell = false;
        for (var attempt = 0; attempt < 5 && !fell; attempt++)
        {
            Write(store, 20 + attempt, SaveId, plans[0], Data(plans[0], attempt));
            var used = store.Usage().TmpfsUsed;
            var dropped = store.Drop(20 + attempt);
            fell = used - store.Usage().TmpfsUsed >= dropped;
        }
        Assert.True(fell, "tmpfs use did not fall by the bytes dropped in 5 attempts");
    }

    [Fact]
    public void Host_directories_should_be_disjoint_and_a_host_id_that_is_not_one_plain_name_refused()
    {
        var h0 = Store("h0");
        var h1 = Store("node-1.rack_2");
        var plan = Plan("r00000-000-t.safetensors");
        Write(h0, 1, SaveId, plan, Data(plan, 6));

        Assert.Equal(Path.Combine(_shm.Path, _ns, "h0"), h0.Root);
        Assert.Equal(Path.Combine(_shm.Path, _ns, "node-1.rack_2"), h1.Root);
        Assert.Single(h0.List().Held);
        Assert.Empty(h1.List().Held);
        Assert.Throws<FileNotFoundException>(() => h1.OpenRead(1, plan.FileName));

        Assert.Equal("host id 'a/b' holds '/': only letters, digits, '.', '_' and '-' are allowed (Parameter 'id')",
            Assert.Throws<ArgumentException>(() => Store("a/b")).Message);
        Assert.Equal("host id '..' is not allowed: it names a directory of the path itself (Parameter 'id')",
            Assert.Throws<ArgumentException>(() => Store("..")).Message);
        Assert.Equal("host id '' must be 1 to 64 characters long; it has 0", ReplicaLayout.HostProblem(""));
        Assert.Equal("host id '.' is not allowed: it names a directory of the path itself", ReplicaLayout.HostProblem("."));
        Assert.NotNull(ReplicaLayout.HostProblem(new string('x', 65)));
        Assert.Null(ReplicaLayout.HostProblem(new string('x', 64)));
        Assert.Equal(new[] { _ns }, Directory.GetDirectories(_shm.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void ReplicaPersist_should_write_a_disk_file_equal_to_the_payload()
    {
        var store = Store();
        var plan = Plan("r00000-000-t.safetensors");
        var expected = Write(store, 12, SaveId, plan, Data(plan, 7));
        var root = new LocalBlobStore(_disk.Path);
        root.CreateDirectory("step-00000012");

        var result = ReplicaPersist.Write(store, 12, plan.FileName, plan, expected, root, Meta);

        Assert.Null(ResultDifference.Between(expected, result));
        using var payload = store.OpenRead(12, plan.FileName);
        Assert.Equal(ReadAll(payload), File.ReadAllBytes(Path.Combine(_disk.Path, "step-00000012", plan.FileName)));
    }

    [Fact]
    public void ReplicaPersist_from_a_corrupt_replica_should_name_file_item_and_block_and_leave_nothing_on_disk()
    {
        var store = Store();
        var plan = Plan("r00000-000-t.safetensors");
        var expected = Write(store, 12, SaveId, plan, Data(plan, 8));
        var root = new LocalBlobStore(_disk.Path);
        root.CreateDirectory("step-00000012");
        var c = expected.Items[2];
        Flip(ReplicaPath(store, 12, plan.FileName), 4096 + c.Bytes.Offset + MaxBlock + 5);

        var e = Assert.Throws<ReplicaMismatchException>(() => ReplicaPersist.Write(store, 12, plan.FileName, plan, expected, root, Meta));

        Assert.Equal((plan.FileName, c.StorageName, (int?)1), (e.File, e.Item, e.Block));
        Assert.StartsWith($"'{plan.FileName}': the copy from the replica does not match what was recorded: item '{c.StorageName}' block 1 has checksum ", e.Message);
        Assert.Empty(Directory.GetFiles(Path.Combine(_disk.Path, "step-00000012")));

        // A replica whose header is not the one expected is refused before a disk file is made.
        var other = expected with { Items = expected.Items.Select((item, i) => i != 1 ? item : item with { Bytes = item.Bytes with { BlockChecksums = new ulong[] { 42 } } }).ToArray() };
        e = Assert.Throws<ReplicaMismatchException>(() => ReplicaPersist.Write(store, 12, plan.FileName, plan, other, root, Meta));
        Assert.Equal((expected.Items[1].StorageName, (int?)0), (e.Item, e.Block));
        Assert.Contains("the replica's header: item", e.Message);
        Assert.Empty(Directory.GetFiles(Path.Combine(_disk.Path, "step-00000012")));
    }

    [Fact]
    public void ReplicaPersist_with_a_plan_or_metadata_the_file_was_not_written_from_should_be_the_callers_mistake_not_a_corrupt_replica()
    {
        var store = Store();
        var plan = Plan("r00000-000-t.safetensors");
        var expected = Write(store, 12, SaveId, plan, Data(plan, 9));
        var root = new LocalBlobStore(_disk.Path);
        root.CreateDirectory("step-00000012");

        var reordered = plan with { Items = plan.Items.Reverse().ToArray() };
        var e = Assert.Throws<ArgumentException>(() => ReplicaPersist.Write(store, 12, plan.FileName, reordered, expected, root, Meta));
        Assert.StartsWith($"'{plan.FileName}': item 0 of the plan is '{reordered.Items[0].StorageName}', the expected result's is '{expected.Items[0].StorageName}'", e.Message);

        var otherMeta = new Dictionary<string, string>(Meta) { ["format"] = "something else" };
        e = Assert.Throws<ArgumentException>(() => ReplicaPersist.Write(store, 12, plan.FileName, plan, expected, root, otherMeta));
        Assert.Contains("not the plan and metadata it was written from", e.Message);
        Assert.Empty(Directory.GetFiles(Path.Combine(_disk.Path, "step-00000012")));
        Assert.Null(store.Verify(store.List().Held.Single()));
    }

    private static void Flip(string path, long at)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        file.Position = at;
        var b = file.ReadByte();
        file.Position = at;
        file.WriteByte((byte)(b ^ 0x40));
    }
}
