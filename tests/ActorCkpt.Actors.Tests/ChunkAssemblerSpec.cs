using System.IO.Hashing;

namespace ActorCkpt.Actors.Tests;

/// <summary>A byte range fetched from a reader is put together only from intact chunks, in order, all of them.</summary>
public class ChunkAssemblerSpec
{
    private static TransferChunk Chunk(long offset, params byte[] bytes) => new(0, offset, bytes, XxHash3.HashToUInt64(bytes));

    private static ChunkAssembler Range(long length) => new("node-1", "f.safetensors", new byte[length]);

    [Fact]
    public void Chunks_in_order_should_make_the_range()
    {
        var into = new byte[5];
        var range = new ChunkAssembler("node-1", "f.safetensors", into);
        range.Add(Chunk(0, 1, 2, 3));
        range.Add(Chunk(3, 4, 5));
        range.Complete();

        Assert.Equal(new byte[] { 1, 2, 3, 4, 5 }, into);
    }

    [Fact]
    public void A_corrupted_chunk_should_be_refused_naming_the_file_the_offset_and_the_node()
    {
        var range = Range(3);
        var corrupted = Chunk(0, 1, 2, 3) with { Checksum = 42 };

        var e = Assert.Throws<ActorCkptException>(() => range.Add(corrupted));
        Assert.Equal("chunk of 'f.safetensors' at 0 from node-1 arrived corrupted or out of order", e.Message);
    }

    [Fact]
    public void A_chunk_out_of_order_or_past_the_end_should_be_refused()
    {
        var range = Range(4);
        range.Add(Chunk(0, 1, 2));

        Assert.Throws<ActorCkptException>(() => range.Add(Chunk(3, 4)));
        Assert.Throws<ActorCkptException>(() => range.Add(Chunk(2, 3, 4, 5)));
    }

    [Fact]
    public void A_range_that_ended_short_should_say_how_much_arrived()
    {
        var range = Range(4);
        range.Add(Chunk(0, 1, 2));

        var e = Assert.Throws<ActorCkptException>(() => range.Complete());
        Assert.Equal("'f.safetensors' from node-1: 2 of 4 bytes arrived", e.Message);
    }
}
