namespace ActorCkpt.Io.Tests;

public class CopiedReadsAndWritesSpec : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(0, true)]
    [InlineData(1, true)]
    [InlineData(CopiedWrites.BufferBytes - 1, true)]
    [InlineData(CopiedWrites.BufferBytes, true)]
    [InlineData(CopiedWrites.BufferBytes * 5 / 2 + 3, true)]
    [InlineData(0, false)]
    [InlineData(CopiedWrites.BufferBytes * 5 / 2 + 3, false)]
    public void A_write_through_the_pooled_buffer_or_straight_should_put_every_byte_at_its_offset(int length, bool copy)
    {
        var data = new byte[length];
        new Random(length).NextBytes(data);
        var path = Path.Combine(_dir.Path, "f");
        const long offset = 4099;

        using (var handle = File.OpenHandle(path, FileMode.Create, FileAccess.Write))
            CopiedWrites.Write(handle, data.AsSpan(), offset, copy);

        var written = File.ReadAllBytes(path);
        Assert.Equal(length == 0 ? 0 : offset + length, written.Length);
        Assert.True(written.AsSpan(0, (int)Math.Min(offset, written.Length)).IndexOfAnyExcept((byte)0) < 0);
        Assert.True(data.AsSpan().SequenceEqual(written.AsSpan((int)Math.Min(offset, written.Length))));
    }

    [Theory]
    [InlineData(true, 0)]
    [InlineData(true, CopiedWrites.BufferBytes * 5 / 2 + 3)]
    [InlineData(false, CopiedWrites.BufferBytes * 5 / 2 + 3)]
    public void A_write_from_lent_memory_should_go_straight_only_from_huge_pages_and_put_every_byte_at_its_offset(bool hugePages, int length)
    {
        var data = new byte[length];
        new Random(length).NextBytes(data);
        using var memory = new MarkedMemory(data, hugePages);
        var path = Path.Combine(_dir.Path, "lent");
        const long offset = 77;

        Assert.Equal(hugePages, CopiedWrites.InHugePages(memory.Memory));
        Assert.False(CopiedWrites.InHugePages(data));
        using (var handle = File.OpenHandle(path, FileMode.Create, FileAccess.Write))
            CopiedWrites.Write(handle, memory.Memory, offset);

        var written = File.ReadAllBytes(path);
        Assert.Equal(length == 0 ? 0 : offset + length, written.Length);
        Assert.True(data.AsSpan().SequenceEqual(written.AsSpan((int)Math.Min(offset, written.Length))));
    }

    /// <summary>An array's bytes behind a memory manager that says whether it is in huge pages.</summary>
    private sealed class MarkedMemory(byte[] bytes, bool hugePages) : System.Buffers.MemoryManager<byte>, IHugePageMemory
    {
        public bool InHugePages => hugePages;

        public override Span<byte> GetSpan() => bytes;

        public override System.Buffers.MemoryHandle Pin(int elementIndex = 0) => throw new NotSupportedException();

        public override void Unpin() { }

        protected override void Dispose(bool disposing) { }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(CopiedWrites.BufferBytes * 5 / 2 + 3)]
    public void A_read_through_the_pooled_buffer_should_fill_every_byte_from_its_offset(int length)
    {
        var data = new byte[length + 4099];
        new Random(length).NextBytes(data);
        var path = Path.Combine(_dir.Path, "r");
        File.WriteAllBytes(path, data);
        var into = new byte[length];

        using (var reader = new LocalBlobStore(_dir.Path).OpenRead("r"))
            CopiedReads.ReadExactly(reader, into, 4099);

        Assert.True(data.AsSpan(4099).SequenceEqual(into));
    }
}
