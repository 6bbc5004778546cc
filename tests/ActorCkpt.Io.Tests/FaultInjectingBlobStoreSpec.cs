namespace ActorCkpt.Io.Tests;

public class FaultInjectingBlobStoreSpec : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static bool TryWrite(IBlobStore store, string path)
    {
        try
        {
            using var w = store.Create(path);
            w.Write(new byte[] { 1, 2 }, 0);
            w.Write(new byte[] { 3, 4 }, 2);
            w.Flush();
            return true;
        }
        catch (InjectedFaultException)
        {
            return false;
        }
    }

    [Fact]
    public void Fail_nth_should_fail_exactly_that_write_and_leave_a_torn_file()
    {
        var store = new FaultInjectingBlobStore(new LocalBlobStore(_dir.Path), FaultPolicy.FailNth(2));

        var outcomes = Enumerable.Range(0, 4).Select(i => TryWrite(store, $"f{i}.safetensors")).ToArray();

        Assert.Equal(new[] { true, false, true, true }, outcomes);
        Assert.Equal(2, new FileInfo(Path.Combine(_dir.Path, "f1.safetensors")).Length);
    }

    [Fact]
    public void Fail_always_should_fail_every_matching_write_only()
    {
        var store = new FaultInjectingBlobStore(new LocalBlobStore(_dir.Path), FaultPolicy.FailAlways());

        Assert.False(TryWrite(store, "a.safetensors"));
        Assert.False(TryWrite(store, "b.safetensors"));
        Assert.True(TryWrite(store, "metadata.json"));
    }

    [Fact]
    public void Fail_with_probability_should_be_reproducible_from_its_seed()
    {
        bool[] Run(string prefix, FaultPolicy policy)
        {
            var store = new FaultInjectingBlobStore(new LocalBlobStore(_dir.Path), policy);
            return Enumerable.Range(0, 40).Select(i => TryWrite(store, $"{prefix}{i}.safetensors")).ToArray();
        }
        var policy = FaultPolicy.FailWithProbability(0.5, 7);

        var first = Run("a", policy);
        var second = Run("b", FaultPolicy.FailWithProbability(0.5, 7));

        Assert.Equal(first, second);
        Assert.Contains(false, first);
        Assert.Contains(true, first);
        Assert.Equal(40, policy.WritesSeen);
    }

    [Fact]
    public void Corrupt_nth_should_land_that_file_with_its_last_byte_flipped_and_report_success()
    {
        var store = new FaultInjectingBlobStore(new LocalBlobStore(_dir.Path), FaultPolicy.CorruptNth(2));

        Assert.True(TryWrite(store, "a.safetensors"));
        Assert.True(TryWrite(store, "b.safetensors"));

        Assert.Equal(new byte[] { 1, 2, 3, 4 }, File.ReadAllBytes(Path.Combine(_dir.Path, "a.safetensors")));
        Assert.Equal(new byte[] { 1, 2, 3, 0xFB }, File.ReadAllBytes(Path.Combine(_dir.Path, "b.safetensors")));
    }

    [Fact]
    public void Disk_full_after_n_bytes_should_land_what_fits_then_fail_every_write_with_ENOSPC()
    {
        var policy = FaultPolicy.DiskFullAfter(7, "*");
        var store = new FaultInjectingBlobStore(new LocalBlobStore(_dir.Path), policy);

        Assert.True(TryWriteOrFull(store, "a.safetensors", out _));
        Assert.False(TryWriteOrFull(store, "b.safetensors", out var full));
        Assert.False(TryWriteOrFull(store, "metadata.json", out var later));

        Assert.Equal("No space left on device : 'b.safetensors'", full!.Message);
        Assert.Equal(28, full.HResult);
        Assert.True(StorageErrors.IsPermanent(full));
        Assert.Equal("No space left on device : 'metadata.json'", later!.Message);
        // a took 4 bytes, b's first write 2: of its second write, the 1 byte left landed.
        Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(Path.Combine(_dir.Path, "b.safetensors")));
        Assert.True(policy.Fired.IsCompleted);
    }

    [Fact]
    public async Task Block_nth_should_hold_that_create_until_the_gate_opens_then_let_it_through()
    {
        var gate = new WriteGate();
        var store = new FaultInjectingBlobStore(new LocalBlobStore(_dir.Path), FaultPolicy.BlockNth(1, gate));

        var write = Task.Run(() => TryWrite(store, "a.safetensors"));
        Assert.Equal("a.safetensors", await gate.Entered.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.False(write.IsCompleted);
        Assert.False(File.Exists(Path.Combine(_dir.Path, "a.safetensors")));
        gate.Open();

        Assert.True(await write.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(4, new FileInfo(Path.Combine(_dir.Path, "a.safetensors")).Length);
    }

    [Fact]
    public async Task A_store_disposed_with_its_node_should_fail_a_held_create_and_create_nothing_after()
    {
        var gate = new WriteGate();
        var store = new FaultInjectingBlobStore(new LocalBlobStore(_dir.Path), FaultPolicy.BlockNth(1, gate), FaultPolicy.DelayNth(1, TimeSpan.FromHours(1), "*.json"));
        var held = Task.Run(() => TryWrite(store, "a.safetensors"));
        var delayed = Task.Run(() => TryWrite(store, "b.json"));
        await gate.Entered.WaitAsync(TimeSpan.FromSeconds(30));

        store.Dispose();

        // Before, the held create waited for the gate for ever (a writer's thread, and the node's termination, with it).
        Assert.Equal("'a.safetensors': the node writing through these storage faults has stopped",
            (await Assert.ThrowsAsync<IOException>(() => held.WaitAsync(TimeSpan.FromSeconds(30)))).Message);
        Assert.Equal("'b.json': the node writing through these storage faults has stopped",
            (await Assert.ThrowsAsync<IOException>(() => delayed.WaitAsync(TimeSpan.FromSeconds(30)))).Message);
        gate.Open();
        Assert.Throws<IOException>(() => TryWrite(store, "a.safetensors"));
        Assert.Empty(Directory.EnumerateFiles(_dir.Path));
    }

    private static bool TryWriteOrFull(IBlobStore store, string path, out IOException? error)
    {
        error = null;
        try
        {
            return TryWrite(store, path);
        }
        catch (IOException e)
        {
            error = e;
            return false;
        }
    }
}
