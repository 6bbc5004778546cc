
namespace ActorCkpt.Planner.Tests;

public class LoadPlannerSpec
{
    /// <summary>Metadata of one float32 tensor saved as the given chunks, each in its own file.</summary>
    private static CheckpointMetadata Saved(string key, long[] shape, int blockSize, params (long[] Offsets, long[] Lengths)[] chunks)
    {
        var stored = chunks.Select((c, i) =>
        {
            var box = new TensorBox(c.Offsets, c.Lengths);
            var length = box.Volume * 4;
            return new StoredChunk(box, $"{key}@{i}", i, new StoredBytes($"f{i}", 100, length, blockSize, new ulong[(length + blockSize - 1) / blockSize]));
        }).ToArray();
        return Metadata((key, DType.Float32, shape, stored));
    }

    private static CheckpointMetadata Metadata(params (string Key, DType DType, long[] Shape, StoredChunk[] Chunks)[] tensors) =>
        new(CheckpointMetadata.CurrentFormatVersion, 7, 4, DateTimeOffset.UnixEpoch,
            tensors.ToDictionary(t => t.Key, t => new TensorMetadata(t.Key, t.DType, t.Shape, t.Chunks)),
            Array.Empty<ObjectMetadata>(), Array.Empty<DataFileMetadata>());

    private static WantedChunk Want(string key, long[] shape, long[] offsets, long[] lengths, DType dtype = DType.Float32, int target = 0) =>
        new(target, key, dtype, shape, new TensorBox(offsets, lengths));

    private static CheckpointMetadata RowsSavedOnFour() => Saved("w", new long[] { 12, 4 }, 16,
        (new long[] { 0, 0 }, new long[] { 3, 4 }), (new long[] { 3, 0 }, new long[] { 3, 4 }),
        (new long[] { 6, 0 }, new long[] { 3, 4 }), (new long[] { 9, 0 }, new long[] { 3, 4 }));

    [Fact]
    public void Row_sharded_4_to_3_should_read_exact_overlaps()
    {
        var plan = LoadPlanner.Plan(RowsSavedOnFour(), new[] { Want("w", new long[] { 12, 4 }, new long[] { 4, 0 }, new long[] { 4, 4 }) }, StrictHandling.RaiseAll);

        Assert.Equal(2, plan.Reads.Count);
        var first = plan.Reads[0];
        Assert.Equal("f1", first.Source.Bytes.File);
        Assert.Equal(new long[] { 4, 0 }, first.Region.Offsets);
        Assert.Equal(new long[] { 2, 4 }, first.Region.Lengths);
        Assert.Equal(16, first.RangeStart);
        Assert.Equal(32, first.RangeLength);
        var second = plan.Reads[1];
        Assert.Equal("f2", second.Source.Bytes.File);
        Assert.Equal(new long[] { 6, 0 }, second.Region.Offsets);
        Assert.Equal(new long[] { 2, 4 }, second.Region.Lengths);
        Assert.Equal(0, second.RangeStart);
        Assert.Equal(32, second.RangeLength);
    }

    [Fact]
    public void Row_sharded_4_to_5_should_cover_every_wanted_row_once()
    {
        var md = RowsSavedOnFour();
        for (var rank = 0; rank < 5; rank++)
        {
            long start = rank * 12 / 5, end = (rank + 1) * 12 / 5;
            var plan = LoadPlanner.Plan(md, new[] { Want("w", new long[] { 12, 4 }, new[] { start, 0L }, new[] { end - start, 4L }) }, StrictHandling.RaiseAll);

            // Whole rows, each wanted row read once: rows are 16 bytes, one checksum block, so each
            // read is exactly its rows' bytes in the chunk.
            Assert.Equal(Enumerable.Range((int)start, (int)(end - start)).Select(i => (long)i),
                plan.Reads.SelectMany(r => Enumerable.Range((int)r.Region.Offsets[0], (int)r.Region.Lengths[0]).Select(i => (long)i)).Order());
            Assert.All(plan.Reads, r =>
            {
                Assert.Equal((0L, 4L), (r.Region.Offsets[1], r.Region.Lengths[1]));
                Assert.Equal((r.Region.Offsets[0] - r.Source.Box.Offsets[0]) * 16, r.RangeStart);
                Assert.Equal(r.Region.Lengths[0] * 16, r.RangeLength);
            });
        }
    }

    [Fact]
    public void Column_sharded_should_read_the_span_from_first_to_last_element()
    {
        var md = Saved("w", new long[] { 4, 8 }, 16, (new long[] { 0, 0 }, new long[] { 4, 4 }), (new long[] { 0, 4 }, new long[] { 4, 4 }));

        var plan = LoadPlanner.Plan(md, new[] { Want("w", new long[] { 4, 8 }, new long[] { 0, 2 }, new long[] { 4, 2 }) }, StrictHandling.RaiseAll);

        var read = Assert.Single(plan.Reads);
        Assert.Equal(new long[] { 0, 2 }, read.Region.Offsets);
        Assert.Equal(new long[] { 4, 2 }, read.Region.Lengths);
        Assert.Equal(0, read.RangeStart);
        Assert.Equal(64, read.RangeLength);
    }

    [Fact]
    public void Column_sharded_should_reshard_onto_rows()
    {
        var md = Saved("w", new long[] { 4, 8 }, 4096, (new long[] { 0, 0 }, new long[] { 4, 4 }), (new long[] { 0, 4 }, new long[] { 4, 4 }));

        var plan = LoadPlanner.Plan(md, new[] { Want("w", new long[] { 4, 8 }, new long[] { 1, 0 }, new long[] { 2, 8 }) }, StrictHandling.RaiseAll);

        Assert.Equal(2, plan.Reads.Count);
        Assert.Equal(new long[] { 1, 0 }, plan.Reads[0].Region.Offsets);
        Assert.Equal(new long[] { 2, 4 }, plan.Reads[0].Region.Lengths);
        Assert.Equal(new long[] { 1, 4 }, plan.Reads[1].Region.Offsets);
        Assert.Equal(64, plan.Reads[0].RangeLength);
    }

    [Fact]
    public void Uneven_shards_with_an_empty_one_should_load_on_another_rank_count()
    {
        var md = Saved("w", new long[] { 10, 2 }, 8, (new long[] { 0, 0 }, new long[] { 3, 2 }), (new long[] { 3, 0 }, new long[] { 7, 2 }));

        var rank0 = LoadPlanner.Plan(md, new[] { Want("w", new long[] { 10, 2 }, new long[] { 0, 0 }, new long[] { 5, 2 }) }, StrictHandling.RaiseAll);
        var rank1 = LoadPlanner.Plan(md, new[] { Want("w", new long[] { 10, 2 }, new long[] { 5, 0 }, new long[] { 5, 2 }) }, StrictHandling.RaiseAll);
        var empty = LoadPlanner.Plan(md, new[] { Want("w", new long[] { 10, 2 }, new long[] { 10, 0 }, new long[] { 0, 2 }) }, StrictHandling.RaiseAll);

        Assert.Equal(new[] { 6L, 4L }, rank0.Reads.Select(r => r.Region.Volume));
        Assert.Equal(16, rank0.Reads[1].RangeLength);
        var tail = Assert.Single(rank1.Reads);
        Assert.Equal(new long[] { 5, 0 }, tail.Region.Offsets);
        Assert.Equal(16, tail.RangeStart);
        Assert.Equal(40, tail.RangeLength);
        Assert.Empty(empty.Reads);
    }

    [Fact]
    public void A_region_spanning_more_than_one_read_may_should_be_cut_into_reads_that_each_fit()
    {
        // Columns 1..3 of a [12, 8] tensor saved as two column halves, wanted whole: at most 40 bytes
        // (10 elements) per read, in the chunk and in the destination.
        var md = Saved("w", new long[] { 12, 8 }, 8, (new long[] { 0, 0 }, new long[] { 12, 4 }), (new long[] { 0, 4 }, new long[] { 12, 4 }));

        var plan = LoadPlanner.Plan(md, new[] { Want("w", new long[] { 12, 8 }, new long[] { 0, 0 }, new long[] { 12, 8 }) }, StrictHandling.RaiseAll, maxReadBytes: 40);

        Assert.All(plan.Reads, r => Assert.True(r.DestinationSpan <= 40 && BoxSplitter.Span(r.Region, r.Source.Box) * 4 <= 40, $"{r.Region} spans over 40 bytes"));
        // (k - 1) · 8 + 4 elements of the destination for k rows: 1 row per read, 24 reads.
        Assert.Equal(24, plan.Reads.Count);
        Assert.Equal(96, plan.Reads.Sum(r => r.Region.Volume));
        Assert.All(plan.Reads, r => Assert.Equal(r.Region.Offsets[0] * 32 + r.Region.Offsets[1] * 4, r.DestinationStart));
        // A row of a chunk is 16 bytes at a multiple of 16, so whole 8-byte blocks: nothing to widen.
        Assert.All(plan.Reads, r => Assert.Equal((1L, 4L, 16L), (r.Region.Lengths[0], r.Region.Lengths[1], r.RangeLength)));
    }

    [Fact]
    public void Reads_should_widen_to_checksum_blocks_but_not_past_the_chunk()
    {
        var md = Saved("w", new long[] { 100 }, 64, (new long[] { 0 }, new long[] { 100 }));

        var plan = LoadPlanner.Plan(md, new[] { Want("w", new long[] { 100 }, new long[] { 30 }, new long[] { 70 }) }, StrictHandling.RaiseAll);

        var read = Assert.Single(plan.Reads);
        Assert.Equal(64, read.RangeStart);
        Assert.Equal(400 - 64, read.RangeLength);
        Assert.Equal(1, read.FirstBlock);
        Assert.Equal(6, read.BlockCount);
    }

    [Fact]
    public void Strict_load_should_list_missing_and_unexpected_keys()
    {
        var md = Metadata(
            ("a", DType.Float32, new long[] { 2 }, Array.Empty<StoredChunk>()),
            ("b", DType.Float32, new long[] { 2 }, Array.Empty<StoredChunk>()));

        var e = Assert.Throws<LoadPlanException>(() => LoadPlanner.Plan(md, new[]
        {
            Want("a", new long[] { 2 }, new long[] { 0 }, new long[] { 0 }),
            Want("c", new long[] { 2 }, new long[] { 0 }, new long[] { 2 }),
        }, StrictHandling.RaiseAll));

        Assert.Equal(new[] { "c" }, e.MissingKeys);
        Assert.Equal(new[] { "b" }, e.UnexpectedKeys);
        Assert.Contains("missing keys: c", e.Message);
        Assert.Contains("unexpected keys: b", e.Message);
    }

    [Fact]
    public void A_mismatch_of_many_keys_should_name_the_first_of_each_list_and_count_the_rest()
    {
        // Before, every key went into the one line: megabytes for a model of thousands of parameters.
        var missing = Enumerable.Range(0, 20).Select(i => $"m{i}").ToArray();
        var mismatches = Enumerable.Range(0, 9).Select(i => $"'t{i}' differs").ToArray();

        var e = new LoadPlanException(missing, ["u"], mismatches);

        Assert.Equal("state does not match checkpoint: missing keys: m0, m1, m2, m3, m4, m5, m6, m7, and 12 more (MissingKeys has all 20); " +
                     "unexpected keys: u; 't0' differs; 't1' differs; 't2' differs; 't3' differs; 't4' differs; 't5' differs; 't6' differs; 't7' differs; " +
                     "and 1 more (Mismatches has all 9)", e.Message);
        Assert.Equal(missing, e.MissingKeys);
    }

    [Fact]
    public void Partial_load_should_report_missing_and_unexpected_keys_instead_of_failing()
    {
        var md = Saved("w", new long[] { 4 }, 16, (new long[] { 0 }, new long[] { 4 }));

        var plan = LoadPlanner.Plan(md, new[] { Want("other", new long[] { 4 }, new long[] { 0 }, new long[] { 4 }) }, StrictHandling.ReturnAll);

        Assert.Empty(plan.Reads);
        Assert.Equal(new[] { "other" }, plan.MissingKeys);
        Assert.Equal(new[] { "w" }, plan.UnexpectedKeys);
    }

    [Theory]
    [InlineData("assume_ok_unexpected", true, false)]
    [InlineData("raise_unexpected", true, false)]
    [InlineData("raise_all", true, true)]
    [InlineData("log_unexpected", false, false)]
    [InlineData("log_all", false, false)]
    [InlineData("return_unexpected", false, false)]
    [InlineData("return_all", false, false)]
    [InlineData("ignore_all", false, false)]
    public void Each_strictness_mode_should_raise_on_exactly_the_mismatches_it_names(string mode, bool raisesMissing, bool raisesUnexpected)
    {
        var md = Saved("w", new long[] { 4 }, 16, (new long[] { 0 }, new long[] { 4 }));
        var wanted = new[] { Want("other", new long[] { 4 }, new long[] { 0 }, new long[] { 4 }) };
        var strict = Strictness.Parse(mode);

        if (raisesMissing || raisesUnexpected)
        {
            var e = Assert.Throws<LoadPlanException>(() => LoadPlanner.Plan(md, wanted, strict));
            Assert.Equal(raisesMissing ? new[] { "other" } : Array.Empty<string>(), e.MissingKeys);
            Assert.Equal(raisesUnexpected ? new[] { "w" } : Array.Empty<string>(), e.UnexpectedKeys);
        }
        else
        {
            var plan = LoadPlanner.Plan(md, wanted, strict);
            Assert.Equal(new[] { "other" }, plan.MissingKeys);
            Assert.Equal(new[] { "w" }, plan.UnexpectedKeys);
        }
        Assert.Equal(mode, Strictness.Name(strict));
    }

    [Fact]
    public void Shape_and_dtype_mismatches_should_fail_even_partial_loads()
    {
        var md = Saved("w", new long[] { 4, 4 }, 16, (new long[] { 0, 0 }, new long[] { 4, 4 }));

        var shape = Assert.Throws<LoadPlanException>(() =>
            LoadPlanner.Plan(md, new[] { Want("w", new long[] { 4, 5 }, new long[] { 0, 0 }, new long[] { 4, 5 }) }, StrictHandling.ReturnAll));
        var dtype = Assert.Throws<LoadPlanException>(() =>
            LoadPlanner.Plan(md, new[] { Want("w", new long[] { 4, 4 }, new long[] { 0, 0 }, new long[] { 4, 4 }, DType.BFloat16) }, StrictHandling.ReturnAll));

        Assert.Contains("'w' has shape [4, 4] in the checkpoint but [4, 5]", shape.Message);
        Assert.Contains("'w' is F32 in the checkpoint but BF16", dtype.Message);
    }

    [Fact]
    public void A_checkpoint_that_does_not_cover_a_wanted_chunk_should_be_refused()
    {
        var md = Saved("w", new long[] { 8 }, 16, (new long[] { 0 }, new long[] { 4 }));

        var e = Assert.Throws<LoadPlanException>(() =>
            LoadPlanner.Plan(md, new[] { Want("w", new long[] { 8 }, new long[] { 0 }, new long[] { 8 }) }, StrictHandling.RaiseAll));

        Assert.Contains("covers 4 of the 8 elements", e.Message);
    }

    [Fact]
    public void Entries_the_state_names_that_the_checkpoint_lacks_for_its_rank_should_be_missing_keys()
    {
        var bytes = new StoredBytes("f0", 0, 4, 4, new ulong[1]);
        var md = RowsSavedOnFour() with
        {
            Objects = [new ObjectMetadata("trainer.step", ObjectScope.Global, 0, "__object__/trainer.step", bytes),
                new ObjectMetadata("rng", ObjectScope.Rank, 1, "__object__/rank1/rng", bytes)],
        };
        var wanted = new[] { Want("w", new long[] { 12, 4 }, new long[] { 0, 0 }, new long[] { 12, 4 }) };

        // Before, a state's entries were not looked at: a load "succeeded" without the entry it asked for, whatever the mode.
        var e = Assert.Throws<LoadPlanException>(() => LoadPlanner.Plan(md, wanted, StrictHandling.RaiseAll, entries: (0, ["trainer.step", "rng", "absent"])));
        Assert.Equal(new[] { "absent", "rng" }, e.MissingKeys);
        Assert.Empty(e.UnexpectedKeys);
        // The rank's own and the global ones are there; entries it does not name are not unexpected (every load returns them).
        var plan = LoadPlanner.Plan(md, wanted, StrictHandling.ReturnAll, entries: (1, ["trainer.step", "rng"]));
        Assert.Empty(plan.MissingKeys);
        Assert.Empty(plan.UnexpectedKeys);
        Assert.Equal(new[] { "rng" }, LoadPlanner.Plan(md, wanted, StrictHandling.ReturnAll, entries: (2, ["rng"])).MissingKeys);
    }
}
