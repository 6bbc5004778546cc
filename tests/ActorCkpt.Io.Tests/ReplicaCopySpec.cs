using static ActorCkpt.Io.Tests.ReplicaFixtures;

namespace ActorCkpt.Io.Tests;

/// <summary>
/// A copy of another host's replica (<see cref="ReplicaStore.CopyAsync"/>, re-replication): made
/// from its header and its payload read in pieces, byte-equal to the source and listed; bytes that
/// are not the ones the header records are refused and nothing is published or left behind.
/// </summary>
public class ReplicaCopySpec : IDisposable
{
    private readonly ShmDirectory _shm = new();
    private readonly string _ns = ReplicaLayout.Namespace("/checkpoints/job-19");
    private static readonly Guid SaveId = Guid.Parse("11111111-2222-3333-4444-555555555555");

    public void Dispose() => _shm.Dispose();

    private ReplicaStore Store(string host) => new(_shm.Path, _ns, host);

    private static byte[] FileOf(ReplicaStore store, long step, string file) =>
        File.ReadAllBytes(Path.Combine(store.Root, ReplicaLayout.StepDirectory(step), ReplicaLayout.ReplicaName(file)));

    /// <summary>Host h0 holding step 4's replica of a plan (bytes of <paramref name="seed"/>), host h1 empty, and the replica's header.</summary>
    private (ReplicaStore Source, ReplicaStore Target, FileWritePlan Plan, ReplicaHeader Header) Held(int seed = 1)
    {
        var (source, target) = (Store("h0"), Store("h1"));
        var plan = Plan("r00000-000-t.safetensors");
        Write(source, 4, SaveId, plan, Data(plan, seed));
        using var payload = source.OpenRead(4, plan.FileName, out var header);
        return (source, target, plan, header);
    }

    /// <summary>Reads the source's payload at an offset into a piece, as a fetch from its reader does; <paramref name="damage"/> may spoil it.</summary>
    private static Func<long, Memory<byte>, Task> From(ReplicaStore source, long step, string file, List<(long, int)> pieces, Action<long, Memory<byte>>? damage = null) =>
        (offset, into) =>
        {
            using var payload = source.OpenRead(step, file);
            payload.ReadExactly(into.Span, offset);
            damage?.Invoke(offset, into);
            pieces.Add((offset, into.Length));
            return Task.CompletedTask;
        };

    [Fact]
    public async Task A_copy_should_be_byte_equal_to_the_source_replica_and_listed_and_verified()
    {
        var (source, target, plan, header) = Held();
        var pieces = new List<(long, int)>();
        var copied = await target.CopyAsync(header, From(source, 4, plan.FileName, pieces), 100_000);

        var (original, listed) = (source.List().Held.Single(), target.List().Held.Single());
        Assert.Equal((original.Step, original.SaveId, original.Rank, original.DataFile, original.FileBytes), (listed.Step, listed.SaveId, listed.Rank, listed.DataFile, listed.FileBytes));
        Assert.Null(ResultDifference.Between(original.Result, listed.Result));
        Assert.Equal((listed.DataFile, listed.FileBytes), (copied.DataFile, copied.FileBytes));
        Assert.Equal(FileOf(source, 4, plan.FileName), FileOf(target, 4, plan.FileName));
        Assert.Null(target.Verify(copied));
        // In pieces of at most the size asked, in order, covering the payload.
        Assert.Equal(Enumerable.Range(0, (int)((header.PayloadLength + 99_999) / 100_000)).Select(i => (i * 100_000L, (int)Math.Min(100_000, header.PayloadLength - i * 100_000L))), pieces);
    }

    [Fact]
    public async Task A_copy_over_a_spare_should_take_it_and_still_equal_the_source()
    {
        var (source, target, plan, header) = Held(seed: 2);
        var big = new FileWritePlan("r00001-000-big.safetensors", 1, 0, new[] { WriteItem.ForObject("o", 1, 0, ObjectScope.Rank, 900_000) });
        Write(target, 1, SaveId, big, Data(big, 7));
        target.Recycle(1);

        await target.CopyAsync(header, From(source, 4, plan.FileName, []), 1 << 20);
        Assert.Equal(0, target.Usage().SpareBytes);
        Assert.Equal(FileOf(source, 4, plan.FileName), FileOf(target, 4, plan.FileName));
    }

    [Fact]
    public async Task Bytes_that_differ_from_the_header_should_be_refused_naming_the_item_and_leave_nothing()
    {
        var (source, target, plan, header) = Held();
        // One byte of the first item flipped on its way.
        var at = header.Result.Items[0].Bytes.Offset + 70_000;
        var e = await Assert.ThrowsAsync<ReplicaMismatchException>(() => target.CopyAsync(header,
            From(source, 4, plan.FileName, [], (offset, into) =>
            {
                if (at >= offset && at < offset + into.Length) into.Span[(int)(at - offset)] ^= 0x40;
            }), 64 << 10));

        Assert.Contains("item 'a' block 1", e.Message);
        Assert.Contains(plan.FileName, e.Message);
        Assert.Empty(target.List().Held);
        Assert.Empty(Directory.GetFiles(Path.Combine(target.Root, "step-00000004")));
    }

    [Fact]
    public async Task A_failed_read_should_leave_nothing_and_pass_its_error_on()
    {
        var (source, target, plan, header) = Held();

        await Assert.ThrowsAsync<IOException>(() => target.CopyAsync(header, (offset, _) => offset == 0 ? Task.CompletedTask : throw new IOException("the peer went away"), 64 << 10));
        Assert.Empty(target.List().Held);
        Assert.Empty(Directory.GetFiles(Path.Combine(target.Root, "step-00000004")));
    }
}
