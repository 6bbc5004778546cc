using System.Runtime.InteropServices;

namespace ActorCkpt.Io.Tests;

/// <summary>The bookkeeping of reads shared by the ranks of a node, driven call by call without storage.</summary>
public class SharedReadsSpec
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>A whole [4, 4] float32 tensor stored at <paramref name="offset"/> of data file "f".</summary>
    private static ReadItem Read(string key = "w", long offset = 0)
    {
        var box = TensorBox.Whole(new long[] { 4, 4 });
        var chunk = new StoredChunk(box, key, 0, new StoredBytes("f", offset, 64, 64, new ulong[] { 0 }));
        return new ReadItem(0, key, DType.Float32, chunk, 0, 64, box, box);
    }

    private static DestinationProvider Over(float[] values) => (_, offset, length) => MemoryMarshal.AsBytes(values.AsSpan()).Slice((int)offset, length);

    [Fact]
    public async Task An_owner_should_keep_its_range_until_every_rank_that_declared_it_has_copied_it()
    {
        var node = new SharedReads(1 << 20);
        var a = node.Join(1, "sum");
        var b = node.Join(1, "sum");
        var read = Read();
        a.Declare([read]);
        b.Declare([read]);
        var owned = a.Claim(read);
        Assert.Equal(SharedClaim.Kind.Read, owned.Action);
        Assert.Equal(SharedClaim.Kind.Wait, b.Claim(read).Action);
        var source = Enumerable.Range(0, 16).Select(i => i + 0.5f).ToArray();
        a.Publish(owned.Range!, read, Over(source));

        var leaving = a.LeaveAsync(waitForOthers: true, CancellationToken.None);
        Assert.False(leaving.IsCompleted);
        var copy = b.Claim(read);
        Assert.Equal(SharedClaim.Kind.Copy, copy.Action);
        var target = new float[16];
        SharedReadSession.CopyFrom(copy.Range!, read, Over(target));
        Assert.False(leaving.IsCompleted);
        b.Unpin(copy.Range!);
        await leaving.WaitAsync(Patience);

        Assert.Equal(source, target);
        Assert.Equal(0, node.HeldBytes);
        await b.LeaveAsync(waitForOthers: true, CancellationToken.None).WaitAsync(Patience);
        Assert.Equal(0, node.Loading(1));
    }

    [Fact]
    public async Task A_rank_that_has_not_said_what_it_needs_should_hold_the_ranges_of_the_others()
    {
        var node = new SharedReads(1 << 20);
        var a = node.Join(1, "sum");
        var late = node.Join(1, "sum");
        var read = Read();
        a.Declare([read]);
        var owned = a.Claim(read);
        a.Publish(owned.Range!, read, Over(new float[16]));

        var leaving = a.LeaveAsync(waitForOthers: true, CancellationToken.None);
        Assert.False(leaving.IsCompleted);
        // It failed before planning: it needs nothing.
        late.Dispose();
        await leaving.WaitAsync(Patience);
        Assert.Equal(0, node.Loading(1));
    }

    [Fact]
    public async Task An_owner_leaving_cancelled_should_retract_its_ranges_at_once_for_the_others_to_read()
    {
        var node = new SharedReads(1 << 20);
        var a = node.Join(1, "sum");
        var b = node.Join(1, "sum");
        var read = Read();
        a.Declare([read]);
        b.Declare([read]);
        var owned = a.Claim(read);
        a.Publish(owned.Range!, read, Over(new float[16]));

        await a.LeaveAsync(waitForOthers: true, new CancellationToken(canceled: true)).WaitAsync(Patience);

        Assert.Equal(SharedRange.Phase.Retracted, owned.Range!.State);
        var again = b.Claim(read);
        Assert.Equal(SharedClaim.Kind.Read, again.Action);
        Assert.NotSame(owned.Range, again.Range);
        b.Dispose();
    }

    [Fact]
    public void A_failed_read_should_be_kept_for_everyone_only_when_the_bytes_are_corrupt()
    {
        var node = new SharedReads(1 << 20);
        var a = node.Join(1, "sum");
        var b = node.Join(1, "sum");
        var corrupt = Read("x");
        var lost = Read("y", offset: 64);

        var first = a.Claim(corrupt);
        a.Fail(first.Range!, new ChecksumMismatchException("f", "x", 0, 0));
        var second = a.Claim(lost);
        a.Fail(second.Range!, new IOException("disk gone"));

        var told = b.Claim(corrupt);
        Assert.Equal(SharedClaim.Kind.Corrupt, told.Action);
        Assert.Equal("checksum mismatch in 'f' for 'x' (block 0, at byte 0)", told.Range!.Mismatch!.Message);
        Assert.Equal(SharedClaim.Kind.Read, b.Claim(lost).Action);
        a.Dispose();
        b.Dispose();
    }

    [Fact]
    public async Task A_group_read_together_should_fail_only_the_range_of_the_read_that_failed_and_publish_the_others()
    {
        var node = new SharedReads(1 << 20);
        var a = node.Join(1, "sum");
        var b = node.Join(1, "sum");
        var reads = new[] { Read("x"), Read("y", offset: 64), Read("z", offset: 128) };
        b.Declare(reads);
        var source = Enumerable.Range(0, 48).Select(i => i + 0.25f).ToArray();
        var asked = new List<IReadOnlyList<ReadItem>>();

        // Rank a reads the three in one group; the middle one's bytes are corrupt.
        var e = await Assert.ThrowsAsync<ChecksumMismatchException>(() => SharedPlanReads.ReadGroupsAsync(reads, [[0, 1, 2]], a, Over(source), group =>
        {
            asked.Add(group);
            return ValueTask.FromResult(group.Select(r => r.Key == "y" ? new ChecksumMismatchException("f", "y", 0, 64) : null).ToArray<Exception?>());
        }, parallelism: 2, null, CancellationToken.None));

        Assert.Equal("checksum mismatch in 'f' for 'y' (block 0, at byte 64)", e.Message);
        Assert.Equal(["x", "y", "z"], asked.Single().Select(r => r.Key));
        // Rank b copies the two that were read and is told of the corrupt one, as rank a found it.
        var claims = reads.Select(b.Claim).ToArray();
        Assert.Equal([SharedClaim.Kind.Copy, SharedClaim.Kind.Corrupt, SharedClaim.Kind.Copy], claims.Select(c => c.Action));
        foreach (var copy in claims.Where(c => c.Action == SharedClaim.Kind.Copy)) b.Unpin(copy.Range!);
        b.Dispose();
        a.Dispose();
    }

    [Fact]
    public async Task A_group_should_read_only_what_no_other_rank_has_claimed_and_copy_the_rest()
    {
        var node = new SharedReads(1 << 20);
        var a = node.Join(1, "sum");
        var b = node.Join(1, "sum");
        var reads = new[] { Read("x"), Read("y", offset: 64) };
        a.Declare(reads);
        // Rank a has read x already.
        var values = Enumerable.Range(0, 16).Select(i => i * 2f).ToArray();
        var x = a.Claim(reads[0]);
        a.Publish(x.Range!, reads[0], Over(values));
        var asked = new List<string>();
        var target = new float[16];

        await SharedPlanReads.ReadGroupsAsync(reads, [[0, 1]], b, (_, _, length) => MemoryMarshal.AsBytes(target.AsSpan()).Slice(0, length), group =>
        {
            asked.AddRange(group.Select(r => r.Key));
            return ValueTask.FromResult(new Exception?[group.Count]);
        }, parallelism: 1, null, CancellationToken.None).WaitAsync(Patience);

        Assert.Equal(["y"], asked);
        Assert.Equal(values, target);
        b.Dispose();
        a.Dispose();
    }

    [Fact]
    public void Loads_of_another_step_or_another_metadata_should_share_nothing()
    {
        var node = new SharedReads(1 << 20);
        var read = Read();
        var sessions = new[] { node.Join(1, "sum"), node.Join(1, "other"), node.Join(2, "sum") };

        var claims = sessions.Select(s => s.Claim(read)).ToArray();

        Assert.All(claims, c => Assert.Equal(SharedClaim.Kind.Read, c.Action));
        Assert.Equal(3, claims.Select(c => c.Range).Distinct().Count());
        foreach (var s in sessions) s.Dispose();
    }

    [Fact]
    public void Past_the_budget_a_rank_should_read_for_itself_alone()
    {
        var node = new SharedReads(100);
        var a = node.Join(1, "sum");

        var first = a.Claim(Read("x"));
        var second = a.Claim(Read("y", offset: 64));

        Assert.NotNull(first.Range);
        Assert.Equal(SharedClaim.Kind.Read, second.Action);
        Assert.Null(second.Range);
        Assert.Equal(64, node.HeldBytes);
        a.Fail(first.Range!, new IOException("gone"));
        Assert.Equal(0, node.HeldBytes);
        a.Dispose();
    }
}
