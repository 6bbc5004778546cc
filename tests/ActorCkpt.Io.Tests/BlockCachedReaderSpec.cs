namespace ActorCkpt.Io.Tests;

/// <summary>
/// <see cref="BlockCachedReader"/>: small reads are served from blocks fetched once each, reads of a
/// block's size or more go straight to the file, and every byte is the file's.
/// </summary>
public class BlockCachedReaderSpec
{
    private const int Block = 1024;

    private static byte[] Bytes(int length)
    {
        var bytes = new byte[length];
        new Random(1).NextBytes(bytes);
        return bytes;
    }

    [Fact]
    public void Small_reads_should_cost_one_read_of_the_file_per_block_touched_and_give_its_bytes()
    {
        // 10,000 bytes: the last block is short.
        var bytes = Bytes(10_000);
        var file = new ByteReader(bytes);
        using var reader = new BlockCachedReader(file, Block);
        var rng = new Random(2);
        var touched = new HashSet<long>();
        for (var i = 0; i < 2_000; i++)
        {
            var length = rng.Next(0, Block);
            var offset = rng.Next(0, bytes.Length - length + 1);
            var into = new byte[length];
            reader.ReadExactly(into, offset);
            Assert.Equal(bytes.AsSpan(offset, length).ToArray(), into);
            if (length > 0)
                for (var b = offset / Block; b <= (offset + length - 1) / Block; b++) touched.Add(b);
        }
        Assert.Equal(10, touched.Count);
        Assert.Equal((touched.Count, touched.Count), (file.Reads, reader.BlocksFetched));
    }

    [Fact]
    public void A_read_of_a_block_or_more_should_go_straight_to_the_file()
    {
        var bytes = Bytes(5 * Block);
        var file = new ByteReader(bytes);
        using var reader = new BlockCachedReader(file, Block);
        var into = new byte[2 * Block + 5];
        reader.ReadExactly(into, 100);
        Assert.Equal(bytes.AsSpan(100, into.Length).ToArray(), into);
        Assert.Equal((1, 0), (file.Reads, reader.BlocksFetched));
    }

    [Fact]
    public void A_read_past_the_end_should_fail_as_the_file_fails_and_fetch_nothing()
    {
        var file = new ByteReader(Bytes(3 * Block));
        using var reader = new BlockCachedReader(file, Block);
        Assert.Throws<EndOfStreamException>(() => reader.ReadExactly(new byte[10], 3 * Block - 5));
        Assert.Equal(0, reader.BlocksFetched);
    }

    [Fact]
    public void Concurrent_reads_of_the_same_blocks_should_fetch_each_once()
    {
        var bytes = Bytes(8 * Block);
        var file = new ByteReader(bytes);
        using var reader = new BlockCachedReader(file, Block);
        Parallel.For(0, 4_000, i =>
        {
            var offset = i * 37 % (bytes.Length - 64);
            var into = new byte[64];
            reader.ReadExactly(into, offset);
            Assert.Equal(bytes.AsSpan(offset, 64).ToArray(), into);
        });
        Assert.Equal((8, 8), (file.Reads, reader.BlocksFetched));
    }
}
