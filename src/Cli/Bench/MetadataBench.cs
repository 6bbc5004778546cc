using System.Diagnostics;

namespace ActorCkpt.Cli.Bench;

/// <summary>
/// The committed (binary) metadata form timed as a save and a load use it, on tmpfs (/dev/shm when
/// there is one, so the disk's speed does not hide the software's): written through the real store
/// and fsynced; read whole, decoded and validated as <c>verify</c>, <c>export</c> and <c>inspect</c>
/// do; and opened by index for one rank's part as a load does, for a few ranks spread over the load.
/// </summary>
internal static class MetadataBench
{
    /// <summary>Times of every run, in seconds, and what they read.</summary>
    /// <param name="Directory">Where the file was written.</param>
    /// <param name="Bytes">Its length.</param>
    /// <param name="Write">Writing it (streamed, fsynced).</param>
    /// <param name="Read">Reading it whole, decoding and validating it, as the store does (<see cref="ReadWhole"/>).</param>
    /// <param name="ReadSplit">Runs of the same whole read timed by phase.</param>
    /// <param name="Decode">Of that, reading and decoding without the validation (every page, a tensor's pages at a time).</param>
    /// <param name="ReadBuilt">Reading it whole as <paramref name="Read"/> does, then asking for every chunk (a whole read packs
    /// each tensor's chunks and builds one object per chunk only when asked: what <c>verify</c> or <c>export</c> pay on top).</param>
    /// <param name="RankRead">One rank's part by index, per rank of <paramref name="Ranks"/> (each once per repeat).</param>
    /// <param name="Ranks">The load ranks whose part was read.</param>
    /// <param name="RankBytes">Bytes of the file the median rank's read touched (header, directory, page indexes, pages, files, strings).</param>
    /// <param name="WriteCpu">CPU time of each write (all threads).</param>
    /// <param name="ReadCpu">CPU time of each whole read.</param>
    /// <param name="RankReadCpu">CPU time of each rank's read.</param>
    public sealed record Figures(string Directory, long Bytes, double[] Write, double[] Read, ReadSplit[] ReadSplit, double[] Decode, double[] ReadBuilt, double[] RankRead, int[] Ranks, long RankBytes,
        double[] WriteCpu, double[] ReadCpu, double[] RankReadCpu);

    /// <summary>One whole read by phase.</summary>
    /// <param name="Open">Seconds opening the file (its header and directory read and their seal checked).</param>
    /// <param name="Decode">Seconds reading and decoding its pages.</param>
    /// <param name="Validate">Seconds validating the result.</param>
    /// <param name="GcPause">Seconds of the GC's pauses during all three.</param>
    /// <param name="DecodeAllocated">Bytes the open and the decode allocated on the managed heap (all threads; a fresh page costs about 11 µs to fault in here).</param>
    /// <param name="ValidateAllocated">Bytes the validation allocated.</param>
    public sealed record ReadSplit(double Open, double Decode, double Validate, double GcPause, long DecodeAllocated, long ValidateAllocated);

    /// <summary>Runs the measurements on <paramref name="metadata"/>; <paramref name="wanted"/> gives what load rank r of <paramref name="loadRanks"/> wants.</summary>
    public static Figures Run(CheckpointMetadata metadata, int repeat, Func<int, IReadOnlyList<WantedChunk>> wanted, int loadRanks)
    {
        var parent = System.IO.Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        var dir = Path.Combine(parent, "actorckpt-bench-plan-" + Guid.NewGuid().ToString("N"));
        var blobs = new LocalBlobStore(dir);
        const string file = CheckpointLayout.MetadataFile;
        try
        {
            long length = 0;
            var write = PlanBenchRunner.Runs(repeat, () =>
            {
                using var writer = blobs.Create(file);
                (length, _) = MetadataBinaryWriter.Write(metadata, writer);
                writer.Flush();
            });
            var read = PlanBenchRunner.Runs(repeat, () => ReadWhole(blobs, file));
            // The same read in its phases, timed apart, with the GC's pauses during each run.
            var split = new List<ReadSplit>();
            PlanBenchRunner.Runs(repeat, () =>
            {
                var pausedBefore = GC.GetTotalPauseDuration();
                var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
                var clock = Stopwatch.StartNew();
                using var index = MetadataIndex.Open(blobs.OpenRead(file), file, expectedChecksum: null);
                var openS = clock.Elapsed.TotalSeconds;
                var decoded = index.ReadAll();
                var decodeS = clock.Elapsed.TotalSeconds - openS;
                var decodeAllocated = GC.GetTotalAllocatedBytes(precise: true);
                var problems = MetadataValidator.Validate(decoded);
                var validateS = clock.Elapsed.TotalSeconds - openS - decodeS;
                if (problems.Count > 0) throw new InvalidOperationException("the bench's metadata does not validate: " + problems[0]);
                split.Add(new ReadSplit(openS, decodeS, validateS, (GC.GetTotalPauseDuration() - pausedBefore).TotalSeconds,
                    decodeAllocated - allocatedBefore, GC.GetTotalAllocatedBytes(precise: true) - decodeAllocated));
            });
            var readBuilt = PlanBenchRunner.Runs(repeat, () =>
            {
                var read = ReadWhole(blobs, file);
                foreach (var t in read.Tensors.Values)
                    foreach (var c in t.Chunks)
                        _ = c.Bytes;
            });
            var decode = PlanBenchRunner.Runs(repeat, () =>
            {
                using var index = MetadataIndex.Open(blobs.OpenRead(file), file, null);
                index.ReadAll();
            });
            var ranks = new[] { 0, loadRanks / 4, loadRanks / 2, 3 * loadRanks / 4, loadRanks - 1 }.Distinct().ToArray();
            var wants = ranks.Select(wanted).ToArray();
            var rankRead = new List<double>();
            PlanBenchRunner.Runs(repeat, () =>
            {
                for (var i = 0; i < ranks.Length; i++)
                    rankRead.AddRange(PlanBenchRunner.Runs(1, () =>
                    {
                        using var index = MetadataIndex.Open(blobs.OpenRead(file), file, null);
                        index.ForRank(ranks[i], wants[i]);
                    }));
            });
            var writeCpu = PlanBenchRunner.CpuRuns(repeat, () =>
            {
                using var writer = blobs.Create(file);
                MetadataBinaryWriter.Write(metadata, writer);
                writer.Flush();
            });
            var readCpu = PlanBenchRunner.CpuRuns(repeat, () => ReadWhole(blobs, file));
            var rankReadCpu = ranks.Select((r, i) => PlanBenchRunner.CpuRuns(1, () =>
            {
                using var index = MetadataIndex.Open(blobs.OpenRead(file), file, null);
                index.ForRank(r, wants[i]);
            })[0]).ToArray();
            var counting = new CountingReader(blobs.OpenRead(file));
            using (var index = MetadataIndex.Open(counting, file, null)) index.ForRank(ranks[ranks.Length / 2], wants[ranks.Length / 2]);
            return new Figures(parent, length, write, read, split.ToArray(), decode, readBuilt, rankRead.ToArray(), ranks, counting.Bytes, writeCpu, readCpu, rankReadCpu);
        }
        finally
        {
            System.IO.Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The whole read <c>verify</c>, <c>export</c> and a node's first load make (nothing cached).</summary>
    private static CheckpointMetadata ReadWhole(IBlobStore blobs, string file) =>
        CheckpointStore.Deserialize(blobs.OpenRead(file), file, CheckpointStore.DefaultMaxMetadataBytes, expectedChecksum: null).Metadata;

    /// <summary>Counts the bytes read through it.</summary>
    private sealed class CountingReader(IBlobReader inner) : IBlobReader
    {
        public long Bytes { get; private set; }

        public long Length => inner.Length;

        public void ReadExactly(Span<byte> buffer, long offset)
        {
            Bytes += buffer.Length;
            inner.ReadExactly(buffer, offset);
        }

        public void Dispose() => inner.Dispose();
    }
}
