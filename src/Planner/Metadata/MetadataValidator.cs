using System.Buffers;
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
            else if (!files.TryAdd(f.Name, new FileRanges(files.Count, f.Name, Math.Max(0, f.Length)))) problems.Add($"file '{f.Name}' is listed twice");
            else if (f.Length < 0) problems.Add($"file '{f.Name}': \"length\" {f.Length} is negative");
            else if (f.Length > long.MaxValue - total) problems.Add($"file '{f.Name}': \"length\" {f.Length} takes the files' total past 64 bits");
            else total += f.Length;
            if (f.HeaderChecksum.Length > 0 && !IsChecksum(f.HeaderChecksum))
                problems.Add($"file '{f.Name}': \"header_checksum\" '{f.HeaderChecksum}' is not 16 lowercase hex digits");
        }
        var byId = files.Values.ToArray();

        // Tensors are checked on the pool when there are many chunks (786k at 4,096 ranks), each
        // noting, in its stretch of one pooled array, the file each chunk takes a range of; the
        // problems and the ranges are then joined in tensor order, as one pass in that order would
        // make them (and the first exception, should one be thrown).
        var tensors = metadata.Tensors.Values.ToArray();
        var starts = new int[tensors.Length + 1];
        for (var i = 0; i < tensors.Length; i++) starts[i + 1] = checked(starts[i] + tensors[i].Chunks.Count);
        var placed = ArrayPool<int>.Shared.Rent(starts[^1]);
        try
        {
            var checks = new (List<string> Problems, Exception? Failure)[tensors.Length];
            void Check(int i)
            {
                var found = new List<string>();
                var its = placed.AsSpan(starts[i], tensors[i].Chunks.Count);
                // Pooled: what an earlier caller left, until each chunk's file is known.
                its.Fill(-1);
                try
                {
                    CheckTensor(tensors[i], partial, files, found, its);
                    checks[i] = (found, null);
                }
                catch (Exception e)
                {
                    checks[i] = (found, e);
                }
            }
            if (starts[^1] >= ParallelChunks) Parallel.For(0, tensors.Length, Check);
            else
                for (var i = 0; i < tensors.Length; i++) Check(i);
            foreach (var (_, failure) in checks)
                if (failure is not null) ExceptionDispatchInfo.Capture(failure).Throw();
            foreach (var (found, _) in checks) problems.AddRange(found);

            var entries = new HashSet<(string, int)>();
            var placedEntries = new int[metadata.Objects.Count];
            for (var i = 0; i < metadata.Objects.Count; i++)
            {
                var o = metadata.Objects[i];
                if (!entries.Add((o.Key, o.Scope == ObjectScope.Rank ? o.Rank : -1)))
                    problems.Add($"entry '{o.Key}' of {(o.Scope == ObjectScope.Rank ? $"rank {o.Rank}" : "global scope")} is listed twice");
                placedEntries[i] = CheckBytes(o.Key, o.Bytes.File, o.Bytes.Offset, o.Bytes.Length, o.Bytes.BlockSize, o.Bytes.BlockChecksums.Count, o.Bytes.Length, 1, files, problems);
            }

            // Each file follows its ranges in the order placed (tensors, then entries), which is
            // usually the order a save wrote them in: then that is all. A file whose ranges come out
            // of order or overlap has them gathered, sorted and checked in full.
            void Place<TPlace>(TPlace place) where TPlace : struct, IPlace
            {
                for (var i = 0; i < tensors.Length; i++)
                {
                    var chunks = tensors[i].Chunks;
                    for (var c = 0; c < chunks.Count; c++)
                    {
                        if (placed[starts[i] + c] is var id && id < 0) continue;
                        var (offset, length) = Bytes(chunks, c);
                        place.Take(byId[id], offset, offset + length, i);
                    }
                }
                for (var i = 0; i < placedEntries.Length; i++)
                    if (placedEntries[i] >= 0)
                    {
                        var bytes = metadata.Objects[i].Bytes;
                        place.Take(byId[placedEntries[i]], bytes.Offset, bytes.Offset + bytes.Length, tensors.Length + i);
                    }
            }
            Place(new Follow());
            var gathered = 0;
            foreach (var file in byId)
                if (file.Unordered) (file.First, file.Next, gathered) = (gathered, gathered, gathered + file.Count);
            if (gathered == 0) return problems;
            var ranges = ArrayPool<PlacedRange>.Shared.Rent(gathered);
            try
            {
                Place(new Gather(ranges));
                string Key(int owner) => owner < tensors.Length ? tensors[owner].Key : metadata.Objects[owner - tensors.Length].Key;
                foreach (var file in byId)
                {
                    if (!file.Unordered) continue;
                    var its = ranges.AsSpan(file.First, file.Count);
                    if (!InOrder(its)) its.Sort(static (a, b) => a.Start.CompareTo(b.Start));
                    for (var i = 1; i < its.Length; i++)
                        if (its[i].Start < its[i - 1].End)
                            problems.Add($"'{Key(its[i - 1].Owner)}' and '{Key(its[i].Owner)}' overlap in file '{file.Name}'");
                }
            }
            finally
            {
                ArrayPool<PlacedRange>.Shared.Return(ranges);
            }
            return problems;
        }
        finally
        {
            ArrayPool<int>.Shared.Return(placed);
        }
    }

    /// <summary>A byte range placed in a file, and its owner: tensor i, or entry i after the tensors.</summary>
    private readonly record struct PlacedRange(long Start, long End, int Owner);

    /// <summary>What a pass over the placed ranges does with each.</summary>
    private interface IPlace
    {
        void Take(FileRanges file, long start, long end, int owner);
    }

    private readonly struct Follow : IPlace
    {
        public void Take(FileRanges file, long start, long end, int owner) => file.Follow(start, end);
    }

    private readonly struct Gather(PlacedRange[] ranges) : IPlace
    {
        public void Take(FileRanges file, long start, long end, int owner)
        {
            if (file.Unordered) ranges[file.Next++] = new PlacedRange(start, end, owner);
        }
    }

    /// <summary>Where chunk <paramref name="i"/> of <paramref name="chunks"/> lies in its file, read from the packed arrays when it was not built.</summary>
    private static (long Offset, long Length) Bytes(IReadOnlyList<StoredChunk> chunks, int i) =>
        chunks is PackedChunks packed ? (packed.Offset(i), packed.Length(i)) : (chunks[i].Bytes.Offset, chunks[i].Bytes.Length);

    private static bool InOrder(ReadOnlySpan<PlacedRange> ranges)
    {
        for (var i = 1; i < ranges.Length; i++)
            if (ranges[i].Start < ranges[i - 1].Start) return false;
        return true;
    }

    /// <summary>Above this many chunks the tensors are checked on the pool.</summary>
    private const long ParallelChunks = 16_384;

    /// <summary>One tensor's checks: its problems into <paramref name="problems"/>, into <paramref name="placed"/> (one per chunk) the id of the file each chunk takes a range of, or -1.</summary>
    private static void CheckTensor(TensorMetadata t, bool partial, Dictionary<string, FileRanges> files, List<string> problems, Span<int> placed)
    {
        var size = DTypes.ElementSize(t.DType);
        if (t.Shape.Count > Shapes.MaxDimensions)
        {
            problems.Add($"'{t.Key}': \"shape\" has {t.Shape.Count} dimensions, more than {Shapes.MaxDimensions}");
            return;
        }
        if (!Shapes.TryVolume(t.Shape, size, out var volume, out _))
        {
            // Nothing else about the tensor can be computed; its chunks are not checked further.
            problems.Add($"'{t.Key}': \"shape\" {Shapes.Uncountable(t.Shape)}");
            return;
        }
        if (t.Chunks is PackedChunks packed)
        {
            CheckPacked(t, packed, size, volume, partial, files, problems, placed);
            return;
        }
        var boxes = new List<TensorBox>();
        for (var i = 0; i < t.Chunks.Count; i++)
        {
            var c = t.Chunks[i];
            if (!c.Box.FitsIn(t.Shape))
            {
                problems.Add($"'{t.Key}': chunk {c.Box} does not fit shape {Shapes.Format(t.Shape)}");
                continue;
            }
            boxes.Add(c.Box);
            // Inside a shape whose bytes fit in 64 bits, so the chunk's do too.
            placed[i] = CheckBytes(t.Key, c.Bytes.File, c.Bytes.Offset, c.Bytes.Length, c.Bytes.BlockSize, c.Bytes.BlockChecksums.Count, c.Box.Volume * size, size, files, problems);
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
        Dictionary<string, FileRanges> files, List<string> problems, Span<int> placed)
    {
        var shape = t.Shape;
        // Null while every chunk so far fits (the usual case): then all of them are the fitting ones.
        List<int>? fitting = null;
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
                fitting ??= Enumerable.Range(0, i).ToList();
                continue;
            }
            fitting?.Add(i);
            long chunkVolume = 1;
            foreach (var l in lengths) chunkVolume = checked(chunkVolume * l);
            covered += chunkVolume;
            placed[i] = CheckBytes(t.Key, packed.File(i), packed.Offset(i), packed.Length(i), packed.BlockSize(i), packed.ChecksumCount(i), chunkVolume * size, size, files, problems);
        }
        var fitCount = fitting?.Count ?? packed.Count;
        if (!Disjoint(packed, fitCount, n => fitting?[n] ?? n))
        {
            // Boxes only: building the chunks (names, checksum lists) would cost more, and stay built.
            var boxes = Enumerable.Range(0, fitCount).Select(n => packed.Box(fitting?[n] ?? n)).ToList();
            if (SavePlanValidator.FindOverlap(boxes) is { } overlap)
            {
                problems.Add($"'{t.Key}': chunks {overlap.A} and {overlap.B} overlap");
                return;
            }
        }
        if (!partial && fitCount == packed.Count && covered != volume)
            problems.Add($"'{t.Key}': chunks cover {covered} of {volume} elements");
    }

    /// <summary><see cref="Disjoint(List{TensorBox})"/> on the <paramref name="count"/> packed chunks <paramref name="fitting"/> gives, in that order.</summary>
    private static bool Disjoint(PackedChunks packed, int count, Func<int, int> fitting)
    {
        if (count < 2) return true;
        var rank = packed.Offsets(fitting(0)).Length;
        for (var d = 0; d < rank; d++)
        {
            var ordered = true;
            for (var i = 1; i < count && ordered; i++)
                ordered = packed.Offsets(fitting(i - 1))[d] + packed.Lengths(fitting(i - 1))[d] <= packed.Offsets(fitting(i))[d];
            if (ordered) return true;
        }
        return false;
    }

    /// <summary>
    /// Checks an item's bytes, naming each problem in <paramref name="problems"/>; returns the id of
    /// the file the item takes a range of (non-empty, inside it) for the overlap check, or -1.
    /// </summary>
    private static int CheckBytes(string key, string fileName, long offset, long length, int blockSize, int checksumCount, long expectedLength, int elementSize,
        Dictionary<string, FileRanges> files, List<string> problems)
    {
        if (!files.TryGetValue(fileName, out var file))
        {
            problems.Add($"'{key}' is in file '{fileName}', which the metadata does not list");
            return -1;
        }
        if (length < 0 || offset < 0)
        {
            problems.Add($"'{key}': {(length < 0 ? $"\"length\" {length}" : $"\"offset\" {offset}")} in file '{fileName}' is negative");
            return -1;
        }
        if (length != expectedLength) problems.Add($"'{key}': {length} bytes recorded, its shape needs {expectedLength}");
        // Both are non-negative here, and so is the file's length: the subtraction cannot wrap.
        var inside = offset <= file.Length && length <= file.Length - offset;
        if (!inside) problems.Add($"'{key}': \"offset\" {offset} + \"length\" {length} lie outside file '{fileName}' of {file.Length} bytes");
        if (blockSize <= 0 || blockSize % 8 != 0 || blockSize % elementSize != 0)
        {
            problems.Add($"'{key}': checksum block size {blockSize} is not a positive multiple of 8");
            return -1;
        }
        var blocks = length / blockSize + (length % blockSize == 0 ? 0 : 1);
        if (checksumCount != blocks) problems.Add($"'{key}': {checksumCount} checksums recorded for {blocks} blocks");
        return length > 0 && inside ? file.Id : -1;
    }

    /// <summary>A listed file: its id (place in the metadata's list, duplicates aside), name and length, and how the ranges placed in it follow each other.</summary>
    private sealed class FileRanges(int id, string name, long length)
    {
        private long _end = long.MinValue;

        public int Id { get; } = id;

        public string Name { get; } = name;

        public long Length { get; } = length;

        /// <summary>How many ranges <see cref="Follow"/> took.</summary>
        public int Count { get; private set; }

        /// <summary>True once <see cref="Follow"/> met a range that starts before the one before it ends (out of order, or overlapping).</summary>
        public bool Unordered { get; private set; }

        /// <summary>Where this file's ranges begin, and where the next goes, in the array they are gathered into when <see cref="Unordered"/>.</summary>
        public int First, Next;

        /// <summary>Takes the next range placed here (every one, in the order placed).</summary>
        public void Follow(long start, long end)
        {
            Count++;
            if (start >= _end) _end = end;
            else Unordered = true;
        }

    }
}
