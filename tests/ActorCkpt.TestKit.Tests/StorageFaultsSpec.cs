using System.Text.RegularExpressions;

namespace ActorCkpt.TestKit.Tests;

/// <summary>Each fault of <see cref="StorageFaults"/>, seen through a real save of a one-process <see cref="Checkpointer"/>.</summary>
public sealed class StorageFaultsSpec : IDisposable
{
    /// <summary>The hang guard: no save or load here may take longer.</summary>
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private const string DataFile = @"r\d{5}-\d{3}-[0-9a-f]{8}\.safetensors";

    private readonly TempRoot _root = new();

    public void Dispose() => _root.Dispose();

    private Task<Checkpointer> StartAsync(StorageFaults faults, int maxRetries = 3)
    {
        var options = new CheckpointerOptions
        {
            Root = _root.Path,
            Settings = { ["writer.backoff-min"] = "5ms", ["writer.backoff-max"] = "20ms", ["writer.max-retries"] = maxRetries.ToString() },
        }.UseStorageFaults(faults);
        return Checkpointer.StartAsync(options);
    }

    private IReadOnlyList<string> DataFiles(long step) => CheckpointReader.Open(_root.Path).ReadMetadata(step).Files.Select(f => f.Name).ToList();

    private static async Task AssertLoadsBitExactAsync(Checkpointer ckpt, long step, int seed)
    {
        var target = States.Empty(0, 1);
        var result = await ckpt.LoadAsync(target, step).WaitAsync(Deadline);
        Assert.Equal(step, result.Step);
        Assert.Empty(States.Differences(target, seed));
    }

    [Fact]
    public async Task The_Nth_failing_write_should_be_retried_and_the_save_commit_bit_exact()
    {
        var faults = new StorageFaults();
        var second = faults.FailWrite(2);
        await using var ckpt = await StartAsync(faults);

        var result = await ckpt.SaveAsync(1, States.Build(0, 1, seed: 1)).WaitAsync(Deadline);

        Assert.Equal(1, result.Step);
        Assert.True(second.Fired.IsCompletedSuccessfully);
        // Every data file was written once, and the torn one once more.
        Assert.Equal(DataFiles(1).Count + 1, second.WritesSeen);
        Assert.Equal(1, ckpt.LatestStep);
        await AssertLoadsBitExactAsync(ckpt, 1, seed: 1);
    }

    [Fact]
    public async Task Writes_that_keep_failing_should_fail_the_save_naming_the_file_the_attempts_and_the_fault_and_commit_nothing()
    {
        var faults = new StorageFaults();
        faults.FailAllWrites();
        await using var ckpt = await StartAsync(faults, maxRetries: 2);

        var e = await Assert.ThrowsAsync<CheckpointFailedException>(() => ckpt.SaveAsync(1, States.Build(0, 1, seed: 1)).WaitAsync(Deadline));

        Assert.Matches($@"^save of step 1 failed: .*'{DataFile}' after 3 attempts: InjectedFaultException: injected fault in write #\d+ of 'step-00000001/{DataFile}'", e.Message);
        Assert.Null(ckpt.LatestStep);
        Assert.Empty(CheckpointReader.Open(_root.Path).Steps);
    }

    [Fact]
    public async Task A_corrupted_write_should_commit_and_then_be_refused_by_load_and_verify_naming_the_file()
    {
        var faults = new StorageFaults();
        var corrupt = faults.CorruptWrite(1);
        await using var ckpt = await StartAsync(faults);

        await ckpt.SaveAsync(1, States.Build(0, 1, seed: 1)).WaitAsync(Deadline);
        Assert.True(corrupt.Fired.IsCompletedSuccessfully);
        Assert.Equal(1, ckpt.LatestStep);

        var e = await Assert.ThrowsAsync<ChecksumMismatchException>(() => ckpt.LoadAsync(States.Empty(0, 1), 1).WaitAsync(Deadline));
        Assert.Matches($@"^checksum mismatch in '{DataFile}' for '[a-z.]+' \(block \d+, at byte \d+\)$", e.Message);
        Assert.Contains(e.File, DataFiles(1));
        // verify finds that one file, and only it.
        var failures = CheckpointVerifier.Verify(new CheckpointStore(new LocalBlobStore(_root.Path)), 1);
        Assert.Equal(e.File, Assert.Single(failures).File);
    }

    [Fact]
    public async Task A_delayed_write_should_hold_the_commit_for_at_least_the_delay_then_commit_bit_exact()
    {
        var faults = new StorageFaults();
        var delay = TimeSpan.FromMilliseconds(400);
        var slow = faults.DelayWrite(1, delay);
        await using var ckpt = await StartAsync(faults);

        var result = await ckpt.SaveAsync(1, States.Build(0, 1, seed: 1)).WaitAsync(Deadline);

        Assert.True(slow.Fired.IsCompletedSuccessfully);
        Assert.True(result.CommittedAfter >= delay, $"committed after {result.CommittedAfter}, the write was held {delay}");
        await AssertLoadsBitExactAsync(ckpt, 1, seed: 1);
    }

    [Fact]
    public async Task A_full_disk_should_fail_the_save_at_once_naming_ENOSPC_commit_nothing_and_keep_the_previous_step()
    {
        var faults = new StorageFaults();
        await using var ckpt = await StartAsync(faults);
        await ckpt.SaveAsync(1, States.Build(0, 1, seed: 1)).WaitAsync(Deadline);

        // Added while the checkpointer runs: from now on 1 KiB is free.
        var full = faults.FillDiskAfter(1024);
        var e = await Assert.ThrowsAsync<CheckpointFailedException>(() => ckpt.SaveAsync(2, States.Build(0, 1, seed: 2)).WaitAsync(Deadline));

        Assert.True(full.Fired.IsCompletedSuccessfully);
        // A full disk is not retried: one attempt, the file system's own words.
        Assert.Matches($@"^save of step 2 failed: .*'{DataFile}' after 1 attempts: IOException: No space left on device : 'step-00000002/{DataFile}'", e.Message);
        Assert.Equal(1, ckpt.LatestStep);
        Assert.Equal(new long[] { 1 }, CheckpointReader.Open(_root.Path).Steps);
        var step2 = await ckpt.ReadCatalogAsync().WaitAsync(Deadline);
        Assert.Equal(CheckpointStatus.Aborted, step2.Single(c => c.Step == 2).Status);
        await AssertLoadsBitExactAsync(ckpt, 1, seed: 1);
    }

    [Theory]
    [InlineData("full disk")]
    [InlineData("failing writes")]
    public async Task A_start_that_fails_writing_the_roots_id_should_leave_no_temporary_file_behind(string fault)
    {
        var faults = new StorageFaults();
        if (fault == "full disk") faults.FillDiskAfter(10);
        else faults.FailAllWrites(StorageFaults.AllFiles);

        for (var attempt = 0; attempt < 2; attempt++)
        {
            var e = await Assert.ThrowsAnyAsync<IOException>(() => StartAsync(faults).WaitAsync(Deadline));
            Assert.Matches(@"'catalog\.id\.[0-9a-f]{32}\.tmp'", e.Message);
        }

        // Before: one catalog.id.<guid>.tmp more per failed start, for good.
        Assert.Empty(Directory.GetFiles(_root.Path, "*.tmp", SearchOption.AllDirectories));
        await using var ckpt = await Checkpointer.StartAsync(new CheckpointerOptions { Root = _root.Path }).WaitAsync(Deadline);
        await ckpt.SaveAsync(1, States.Build(0, 1, seed: 6)).WaitAsync(Deadline);
        Assert.Empty(Directory.GetFiles(_root.Path, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task A_blocked_write_should_hold_the_save_uncommitted_until_released_then_commit_bit_exact()
    {
        var faults = new StorageFaults();
        var blocked = faults.BlockWrite(1);
        await using var ckpt = await StartAsync(faults);

        var save = ckpt.SaveAsync(1, States.Build(0, 1, seed: 1));
        var path = await blocked.Entered.WaitAsync(Deadline);

        Assert.Matches($"^step-00000001/{DataFile}$", path);
        Assert.False(save.IsCompleted);
        Assert.Null(ckpt.LatestStep);
        Assert.False(File.Exists(Path.Combine(_root.Path, path)));
        blocked.Release();
        var result = await save.WaitAsync(Deadline);
        Assert.Equal(1, result.Step);
        Assert.Contains(Path.GetFileName(path), DataFiles(1));
        await AssertLoadsBitExactAsync(ckpt, 1, seed: 1);
    }

    [Fact]
    public async Task StartAsync_should_not_hold_the_callers_thread_while_a_write_of_the_start_is_held()
    {
        var faults = new StorageFaults();
        var held = faults.BlockWrite(1, StorageFaults.AllFiles);

        // Before: StartAsync ran the start on the caller's thread and returned a completed task only once
        // the start had ended, so a test could not act on a write held during it.
        var start = StartAsync(faults);

        Assert.False(start.IsCompleted);
        Assert.StartsWith("catalog.id.", await held.Entered.WaitAsync(Deadline));
        held.Release();
        await using var ckpt = await start.WaitAsync(Deadline);
        await ckpt.SaveAsync(1, States.Build(0, 1, seed: 1)).WaitAsync(Deadline);
        await AssertLoadsBitExactAsync(ckpt, 1, seed: 1);
    }

    [Fact]
    public void Bad_arguments_should_be_refused_naming_them()
    {
        var faults = new StorageFaults();
        Assert.Equal("n", Assert.Throws<ArgumentOutOfRangeException>(() => faults.FailWrite(0)).ParamName);
        Assert.Equal("bytes", Assert.Throws<ArgumentOutOfRangeException>(() => faults.FillDiskAfter(-1)).ParamName);
        Assert.Contains("path pattern is empty", Assert.Throws<ArgumentException>(() => faults.CorruptWrite(1, "")).Message);
        // A range of no write never fires; an infinite delay is what BlockWrite is for.
        Assert.StartsWith("count = 0: a range holds at least one write", Assert.Throws<ArgumentOutOfRangeException>(() => faults.FailWrites(1, 0)).Message);
        Assert.StartsWith("delay = Timeout.InfiniteTimeSpan: a write held until the test lets it go is BlockWrite(n)",
            Assert.Throws<ArgumentOutOfRangeException>(() => faults.DelayWrite(1, Timeout.InfiniteTimeSpan)).Message);
        Assert.StartsWith("delay = -00:00:02: must not be negative", Assert.Throws<ArgumentOutOfRangeException>(() => faults.DelayWrite(1, TimeSpan.FromSeconds(-2))).Message);
        // Before: accepted, and the write failed at once ("timeout must be less than or equal to 2147483647"), so the save committed at once.
        Assert.StartsWith("delay = 30.00:00:00: must not be negative, and at most 24.20:31:23.6460000",
            Assert.Throws<ArgumentOutOfRangeException>(() => faults.DelayWrite(1, TimeSpan.FromDays(30))).Message);
        // Before: accepted, described as "fail writes #2147483647..#-2147483648".
        Assert.StartsWith("writes #2147483647 to #2147483648: writes are counted up to #2147483647",
            Assert.Throws<ArgumentOutOfRangeException>(() => faults.FailWrites(int.MaxValue, 2)).Message);
        // Before: accepted, and it matched no file.
        Assert.Contains("is empty or has spaces at an end", Assert.Throws<ArgumentException>(() => faults.FailWrite(1, " ")).Message);
        // One line each (before: a second line, "Actual value was 0.").
        foreach (var refusal in new Action[] { () => faults.FailWrite(0), () => faults.FailWrites(1, 0), () => faults.FillDiskAfter(-1), () => faults.DelayWrite(0, TimeSpan.Zero) })
            Assert.DoesNotContain('\n', Assert.ThrowsAny<ArgumentException>(refusal).Message);
        Assert.Empty(faults.Faults);
    }
}
