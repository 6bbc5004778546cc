using System.Runtime.ExceptionServices;

namespace ActorCkpt;

/// <summary>
/// Checks that metadata read from disk is self-consistent before anything trusts it: file names
/// that stay inside the step directory, chunks that fit their tensor, do not overlap and cover it,
/// byte ranges that fit their file without overlapping, lengths that match shapes, and checksum
/// blocks that line up with elements. All of it is read from an untrusted file, so every sum and
/// product is bounded first: a size that is negative or overflows 64 bits is a problem named by
/// its field, never a wrapped number that passes.
/// </summary>
internal static class MetadataValidator
{
    /// <summary>
    /// Returns one line per problem; empty when the metadata can be trusted. With <paramref name="partial"/>
    /// the metadata is a part of a step's (a rank's chunks, read by index): its tensors' chunks are
    /// not required to cover them, everything else is checked alike.
    /// </summary>
    public static IReadOnlyList<string> Validate(CheckpointMetadata metadata, bool partial = false)
    {
        var problems = new List<string>();
        if (metadata.Step < 0) problems.Add($"step {metadata.Step} is negative");
        if (metadata.WorldSize < 1) problems.Add($"world_size {metadata.WorldSize} is not positive");

        var files = new Dictionary<string, FileRanges>(StringComparer.Ordinal);
        long total = 0;
        foreach (var f in metadata.Files)
        {
            if (!IsPlainFileName(f.Name)) problems.Add($"file name '{f.Name}' is not a plain name inside the step directory");
            else if (!files.TryAdd(f.Name, new FileRanges(Math.Max(0, f.Length)))) problems.Add($"file '{f.Name}' is listed twice");
            else if (f.Length < 0) problems.Add($"file '{f.Name}': \"length\" {f.Length} is negative");
            else if (f.Length > long.MaxValue - total) problems.Add($"file '{f.Name}': \"length\" {f.Length} takes the files' total past 64 bits");
            else total += f.Length;
            if (f.HeaderChecksum.Length > 0 && !IsChecksum(f.HeaderChecksum))
                problems.Add($"file '{f.Name}': \"header_checksum\" '{f.HeaderChecksum}' is not 16 lowercase hex digits");
        }

        // Tensors are checked on the pool when there are many chunks (786k at 4,096 ranks), each into
        // lists of its own, then joined in order: the problems and each file's ranges come out as one
        // pass in tensor order would make them (and the first exception, should one be thrown).
        var tensors = metadata.Tensors.Values.ToArray();
        var checks = new (List<string> Problems, List<PlacedRange> Ranges, Exception? Failure)[tensors.Length];
        void Check(int i)
        {
            var found = new List<string>();
            var ranges = new List<PlacedRange>(tensors[i].Chunks.Count);
            try
            {
                CheckTensor(tensors[i], partial, files, found, ranges);
                checks[i] = (found, ranges, null);
            }
            catch (Exception e)
            {
                checks[i] = (found, ranges, e);
            }
        }
        if (tensors.Sum(t => (long)t.Chunks.Count) >= ParallelChunks) Parallel.For(0, tensors.Length, Check);
        else
            for (var i = 0; i < tensors.Length; i++) Check(i);
        foreach (var (_, ranges, failure) in checks)
        {
            if (failure is not null) ExceptionDispatchInfo.Capture(failure).Throw();
            foreach (var r in ranges) r.File.Expected++;
        }
        foreach (var file in files.Values) file.Ranges.Capacity = file.Expected;
        foreach (var (found, ranges, _) in checks)
        {
            problems.AddRange(found);
            foreach (var r in ranges) r.File.Ranges.Add((r.Start, r.End, r.Key));
        }

        var entries = new HashSet<(string, int)>();
        var entryRanges = new List<PlacedRange>();
        foreach (var o in metadata.Objects)
        {
            if (!entries.Add((o.Key, o.Scope == ObjectScope.Rank ? o.Rank : -1)))
                problems.Add($"entry '{o.Key}' of {(o.Scope == ObjectScope.Rank ? $"rank {o.Rank}" : "global scope")} is listed twice");
            CheckBytes(o.Key, o.Bytes.File, o.Bytes.Offset, o.Bytes.Length, o.Bytes.BlockSize, o.Bytes.BlockChecksums.Count, o.Bytes.Length, 1, files, problems, entryRanges);
        }
        foreach (var r in entryRanges) r.File.Ranges.Add((r.Start, r.End, r.Key));

        foreach (var (name, file) in files)
        {
            var ranges = file.Ranges;
            // A file's items come in the order they were written, so this is usually a check, not a sort.
            if (!InOrder(ranges)) ranges.Sort(static (a, b) => a.Start.CompareTo(b.Start));
            for (var i = 1; i < ranges.Count; i++)
                if (ranges[i].Start < ranges[i - 1].End)
                    problems.Add($"'{ranges[i - 1].Key}' and '{ranges[i].Key}' overlap in file '{name}'");
        }
        return problems;
    }

    private static bool InOrder(List<(long Start, long End, string Key)> ranges)
    {
        for (var i = 1; i < ranges.Count; i++)
            if (ranges[i].Start < ranges[i - 1].Start) return false;
        return true;
    }

    /// <summary>Above this many chunks the tensors are checked on the pool.</summary>
    private const long ParallelChunks = 16_384;

    /// <summary>A byte range a chunk or entry takes in a listed file, before it joins that file's list.</summary>
    private readonly record struct PlacedRange(FileRanges File, long Start, long End, string Key);

    /// <summary>One tensor's checks: its problems into <paramref name="problems"/>, the ranges its chunks take into <paramref name="ranges"/>.</summary>
    private static void CheckTensor(TensorMetadata t, bool partial, Dictionary<string, FileRanges> files, List<string> problems, List<PlacedRange> ranges)
    {
        var size = DTypes.ElementSize(t.DType);
        if (!Shapes.TryVolume(t.Shape, size, out var volume, out _))
        {
            // Nothing else about the tensor can be computed; its chunks are not checked further.
            problems.Add(t.Shape.Any(s => s < 0)
                ? $"'{t.Key}': \"shape\" {Shapes.Format(t.Shape)} has a negative size"
                : $"'{t.Key}': \"shape\" {Shapes.Format(t.Shape)} holds more bytes than 64 bits count");
            return;
        }
        if (t.Chunks is PackedChunks packed)
        {
            CheckPacked(t, packed, size, volume, partial, files, problems, ranges);
            return;
        }
        var boxes = new List<TensorBox>();
        foreach (var c in t.Chunks)
        {
            if (!c.Box.FitsIn(t.Shape))
            {
                problems.Add($"'{t.Key}': chunk {c.Box} does not fit shape {Shapes.Format(t.Shape)}");
                continue;
            }
            boxes.Add(c.Box);
            // Inside a shape whose bytes fit in 64 bits, so the chunk's do too.
            CheckBytes(t.Key, c.Bytes.File, c.Bytes.Offset, c.Bytes.Length, c.Bytes.BlockSize, c.Bytes.BlockChecksums.Count, c.Box.Volume * size, size, files, problems, ranges);
        }
        if (!Disjoint(boxes) && SavePlanValidator.FindOverlap(boxes) is { } overlap)
            problems.Add($"'{t.Key}': chunks {overlap.A} and {overlap.B} overlap");
        else if (!partial && boxes.Count == t.Chunks.Count && boxes.Sum(b => b.Volume) != volume)
            problems.Add($"'{t.Key}': chunks cover {boxes.Sum(b => b.Volume)} of {volume} elements");
    }

    /// <summary>
    /// True when the boxes (of one rank) lie one after another along some dimension, each ending
    /// where or before the next starts: then no two share an element. It is how a save lays out a
    /// sharded tensor, so the general sweep (<see cref="SavePlanValidator.FindOverlap"/>, which
    /// sorts and names the pair) runs only when this fails.
    /// </summary>
    private static bool Disjoint(List<TensorBox> boxes)
    {
        if (boxes.Count < 2) return true;
        var rank = boxes[0].Rank;
        for (var d = 0; d < rank; d++)
        {
            var ordered = true;
            for (var i = 1; i < boxes.Count && ordered; i++)
            {
                var before = boxes[i - 1];
                // The constructor keeps offset + length inside 64 bits.
                ordered = before.OffsetSpan[d] + before.LengthSpan[d] <= boxes[i].OffsetSpan[d];
            }
            if (ordered) return true;
        }
        return false;
    }

    /// <summary>True for a checksum as the metadata writes them: 16 lowercase hex digits.</summary>
    private static bool IsChecksum(string text) => text.Length == 16 && text.All(char.IsAsciiHexDigitLower);

    /// <summary>True for a name that cannot leave the directory it is resolved in.</summary>
    public static bool IsPlainFileName(string name) =>
        name.Length > 0 && name != "." && name != ".." && name.IndexOfAny(new[] { '/', '\\', '\0' }) < 0;

    /// <summary>
    /// The checks of the loop in <see cref="Validate"/> on chunks a reader packed, read from their
    /// arrays: the same problems in the same order, a chunk built only to be named in one.
    /// </summary>
    private static void CheckPacked(TensorMetadata t, PackedChunks packed, int size, long volume, bool partial,
        Dictionary<string, FileRanges> files, List<string> problems, List<PlacedRange> ranges)
    {
        var shape = t.Shape;
        var fitting = new List<int>(packed.Count);
        long covered = 0;
        for (var i = 0; i < packed.Count; i++)
        {
            var offsets = packed.Offsets(i);
            var lengths = packed.Lengths(i);
            // TensorBox.FitsIn: the reader keeps every end inside 64 bits.
            var fits = shape.Count == offsets.Length;
            for (var k = 0; fits && k < offsets.Length; k++) fits = offsets[k] + lengths[k] <= shape[k];
            if (!fits)
            {
                problems.Add($"'{t.Key}': chunk {packed[i].Box} does not fit shape {Shapes.Format(shape)}");
                continue;
            }
            fitting.Add(i);
            long chunkVolume = 1;
            foreach (var l in lengths) chunkVolume = checked(chunkVolume * l);
            covered += chunkVolume;
            CheckBytes(t.Key, packed.File(i), packed.Offset(i), packed.Length(i), packed.BlockSize(i), packed.ChecksumCount(i), chunkVolume * size, size, files, problems, ranges);
        }
        if (!Disjoint(packed, fitting))
        {
            var boxes = fitting.Select(i => packed[i].Box).ToList();
            if (SavePlanValidator.FindOverlap(boxes) is { } overlap)
            {
                problems.Add($"'{t.Key}': chunks {overlap.A} and {overlap.B} overlap");
                return;
            }
        }
        if (!partial && fitting.Count == packed.Count && covered != volume)
            problems.Add($"'{t.Key}': chunks cover {covered} of {volume} elements");
    }

    /// <summary><see cref="Disjoint(List{TensorBox})"/> on the packed chunks <paramref name="fitting"/>, in that order.</summary>
    private static bool Disjoint(PackedChunks packed, List<int> fitting)
    {
        if (fitting.Count < 2) return true;
        var rank = packed.Offsets(fitting[0]).Length;
        for (var d = 0; d < rank; d++)
        {
            var ordered = true;
            for (var i = 1; i < fitting.Count && ordered; i++)
                ordered = packed.Offsets(fitting[i - 1])[d] + packed.Lengths(fitting[i - 1])[d] <= packed.Offsets(fitting[i])[d];
            if (ordered) return true;
        }
        return false;
    }

    private static void CheckBytes(string key, string fileName, long offset, long length, int blockSize, int checksumCount, long expectedLength, int elementSize,
        Dictionary<string, FileRanges> files, List<string> problems, List<PlacedRange> ranges)
    {
        if (!files.TryGetValue(fileName, out var file))
        {
            problems.Add($"'{key}' is in file '{fileName}', which the metadata does not list");
            return;
        }
        if (length < 0 || offset < 0)
        {
            problems.Add($"'{key}': {(length < 0 ? $"\"length\" {length}" : $"\"offset\" {offset}")} in file '{fileName}' is negative");
            return;
        }
        if (length != expectedLength) problems.Add($"'{key}': {length} bytes recorded, its shape needs {expectedLength}");
        // Both are non-negative here, and so is the file's length: the subtraction cannot wrap.
        var inside = offset <= file.Length && length <= file.Length - offset;
        if (!inside) problems.Add($"'{key}': \"offset\" {offset} + \"length\" {length} lie outside file '{fileName}' of {file.Length} bytes");
        if (blockSize <= 0 || blockSize % 8 != 0 || blockSize % elementSize != 0)
        {
            problems.Add($"'{key}': checksum block size {blockSize} is not a positive multiple of 8");
            return;
        }
        var blocks = length / blockSize + (length % blockSize == 0 ? 0 : 1);
        if (checksumCount != blocks) problems.Add($"'{key}': {checksumCount} checksums recorded for {blocks} blocks");
        if (length > 0 && inside) ranges.Add(new PlacedRange(file, offset, offset + length, key));
    }

    /// <summary>A listed file's length and the byte ranges the metadata places in it.</summary>
    private sealed class FileRanges(long length)
    {
        public long Length { get; } = length;

        public List<(long Start, long End, string Key)> Ranges { get; } = new();

        /// <summary>How many ranges the tensors place here (to size <see cref="Ranges"/> once).</summary>
        public int Expected { get; set; }
    }
}
