namespace ActorCkpt.Planner.Tests;

public class ChunkIndexSpec
{
    [Fact]
    public void Candidates_should_include_every_chunk_a_box_overlaps_for_uneven_row_and_column_tilings()
    {
        // Rows cut unevenly (1, 5, 2, 4), each row band cut into columns differently.
        long[] rowCuts = { 0, 1, 6, 8, 12 };
        var chunks = new List<StoredChunk>();
        for (var b = 0; b < rowCuts.Length - 1; b++)
        {
            var columns = b % 2 == 0 ? new long[] { 0, 3, 10 } : new long[] { 0, 10 };
            for (var c = 0; c < columns.Length - 1; c++)
            {
                var box = new TensorBox(new[] { rowCuts[b], columns[c] }, new[] { rowCuts[b + 1] - rowCuts[b], columns[c + 1] - columns[c] });
                chunks.Add(new StoredChunk(box, $"c{chunks.Count}", 0, new StoredBytes("f", 0, box.Volume * 4, 16, Array.Empty<ulong>())));
            }
        }
        var tensor = new TensorMetadata("w", DType.Float32, new long[] { 12, 10 }, chunks);
        var index = ChunkIndex.Of(tensor);

        for (long r0 = 0; r0 < 12; r0++)
        for (long r1 = r0 + 1; r1 <= 12; r1++)
        for (long c0 = 0; c0 < 10; c0 += 3)
        {
            var want = new TensorBox(new[] { r0, c0 }, new[] { r1 - r0, 10 - c0 });
            var expected = chunks.Where(c => c.Box.Intersect(want) is not null).Select(c => c.StorageName).Order();
            var found = index.Candidates(want).Where(c => c.Box.Intersect(want) is not null).Select(c => c.StorageName).Order();
            Assert.Equal(expected, found);
        }
        Assert.Same(index, ChunkIndex.Of(tensor));
    }
}
