namespace ActorCkpt.Io.Tests;

/// <summary>Which parts of an upload are complete, from positional writes in any order (<see cref="PartCoverage"/>).</summary>
public class PartCoverageSpec
{
    [Fact]
    public void A_part_should_complete_when_its_last_byte_arrives_whatever_the_order()
    {
        var c = new PartCoverage(10);
        Assert.Empty(c.Record(5, 10));          // 5..9 of part 0, 0..4 of part 1
        Assert.Equal(new long[] { 0 }, c.Record(0, 5));
        Assert.Equal(new long[] { 2 }, c.Record(20, 10));
        Assert.Equal(new long[] { 1 }, c.Record(15, 5));
        Assert.Equal(30, c.Length);
        Assert.Equal(3, c.PartCount);
    }

    [Fact]
    public void One_write_should_complete_every_part_it_fills()
    {
        var c = new PartCoverage(4);
        Assert.Equal(new long[] { 0, 1 }, c.Record(0, 9));
        Assert.Equal(3, c.PartCount);
        Assert.Equal(1, c.LengthOf(2));
        Assert.False(c.IsComplete(2));
    }

    [Fact]
    public void A_byte_written_twice_should_be_refused()
    {
        var c = new PartCoverage(4);
        c.Record(0, 4);
        Assert.Contains("written before", Assert.Throws<InvalidOperationException>(() => c.Record(2, 1)).Message);
        var d = new PartCoverage(4);
        d.Record(0, 3);
        Assert.Contains("twice", Assert.Throws<InvalidOperationException>(() => d.Record(1, 2)).Message);
    }
}
