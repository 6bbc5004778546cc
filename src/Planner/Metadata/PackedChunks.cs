using System.Collections;

namespace ActorCkpt;

/// <summary>
/// A tensor's chunks as a reader decoded them, packed into a few arrays instead of seven objects a
/// chunk: at 4,096 ranks a step has about 786k chunks, and allocating (then collecting) five million
/// objects cost more than decoding them. Each <see cref="StoredChunk"/> is built the first time it
/// is asked for and kept, so every caller sees one instance per chunk. <see cref="MetadataValidator"/>
/// checks the packed fields without building them. Filled once by the reader (<see cref="Set"/>),
/// never changed afterwards; safe to read from several threads.
/// </summary>
internal sealed class PackedChunks : IReadOnlyList<StoredChunk>
{
    private readonly string _key;
    private readonly long[] _shape;
    private readonly int _dims;
    private readonly long[] _corners;
    private readonly int[] _ranks;
    // Null until a chunk has a name of its own (few do) and until a chunk is built (a whole read
    // for verify or export builds them; a validation never does): 12 MB fewer at 786k chunks.
    private string?[]? _names;
    private readonly string[] _files;
    private readonly long[] _offsets, _lengths;
    private readonly int[] _blockSizes;
    private readonly int[] _sumStarts, _sumCounts;
    private ulong[] _sums;
    private int _sumsUsed;
    private StoredChunk?[]? _built;

    /// <summary>Room for <paramref name="count"/> chunks of tensor <paramref name="key"/> of <paramref name="shape"/>, each then <see cref="Set"/> once.</summary>
    public PackedChunks(string key, long[] shape, int count)
    {
        _key = key;
        _shape = shape;
        _dims = shape.Length;
        _corners = new long[2 * _dims * count];
        _ranks = new int[count];
        _files = new string[count];
        _offsets = new long[count];
        _lengths = new long[count];
        _blockSizes = new int[count];
        _sumStarts = new int[count];
        _sumCounts = new int[count];
        _sums = new ulong[count];
    }

    /// <inheritdoc />
    public int Count => _ranks.Length;

    /// <summary>
    /// Chunk <paramref name="position"/>: its box (non-negative, each end inside 64 bits: the reader
    /// checked), rank, name (null for the one <see cref="StorageNames.Chunk"/> gives) and bytes.
    /// </summary>
    public void Set(int position, ReadOnlySpan<long> offsets, ReadOnlySpan<long> lengths, int rank, string? name,
        string file, long offset, long length, int blockSize, ReadOnlySpan<ulong> sums)
    {
        offsets.CopyTo(_corners.AsSpan(2 * _dims * position, _dims));
        lengths.CopyTo(_corners.AsSpan(2 * _dims * position + _dims, _dims));
        _ranks[position] = rank;
        if (name is not null) (_names ??= new string?[Count])[position] = name;
        _files[position] = file;
        _offsets[position] = offset;
        _lengths[position] = length;
        _blockSizes[position] = blockSize;
        if (_sums.Length - _sumsUsed < sums.Length)
            Array.Resize(ref _sums, (int)Math.Min(Array.MaxLength, Math.Max(2L * _sums.Length, (long)_sumsUsed + sums.Length)));
        sums.CopyTo(_sums.AsSpan(_sumsUsed));
        _sumStarts[position] = _sumsUsed;
        _sumCounts[position] = sums.Length;
        _sumsUsed += sums.Length;
    }

    /// <summary>Chunk <paramref name="index"/>, built once.</summary>
    public StoredChunk this[int index]
    {
        get
        {
            if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index));
            var built = _built ?? Interlocked.CompareExchange(ref _built, new StoredChunk?[Count], null) ?? _built;
            return built[index] ?? Interlocked.CompareExchange(ref built[index], Build(index), null) ?? built[index]!;
        }
    }

    /// <inheritdoc />
    public IEnumerator<StoredChunk> GetEnumerator()
    {
        for (var i = 0; i < Count; i++) yield return this[i];
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Where chunk <paramref name="i"/> starts.</summary>
    internal ReadOnlySpan<long> Offsets(int i) => _corners.AsSpan(2 * _dims * i, _dims);

    /// <summary>How far chunk <paramref name="i"/> reaches.</summary>
    internal ReadOnlySpan<long> Lengths(int i) => _corners.AsSpan(2 * _dims * i + _dims, _dims);

    /// <summary>The box of chunk <paramref name="i"/>, built anew (the chunk itself is not built).</summary>
    internal TensorBox Box(int i) => _built?[i]?.Box ?? TensorBox.Owning(Offsets(i).ToArray(), Lengths(i).ToArray());

    /// <summary>The data file of chunk <paramref name="i"/>.</summary>
    internal string File(int i) => _files[i];

    /// <summary>Offset of chunk <paramref name="i"/> in its file.</summary>
    internal long Offset(int i) => _offsets[i];

    /// <summary>Byte length of chunk <paramref name="i"/>.</summary>
    internal long Length(int i) => _lengths[i];

    /// <summary>Checksum block size of chunk <paramref name="i"/>.</summary>
    internal int BlockSize(int i) => _blockSizes[i];

    /// <summary>How many block checksums chunk <paramref name="i"/> has.</summary>
    internal int ChecksumCount(int i) => _sumCounts[i];

    private StoredChunk Build(int i)
    {
        var box = TensorBox.Owning(Offsets(i).ToArray(), Lengths(i).ToArray());
        var bytes = new StoredBytes(_files[i], _offsets[i], _lengths[i], _blockSizes[i], _sums.AsSpan(_sumStarts[i], _sumCounts[i]).ToArray());
        return new StoredChunk(box, _names?[i] ?? CanonicalName(_key, box, _shape), _ranks[i], bytes);
    }

    /// <summary>The name <see cref="StorageNames.Chunk"/> gives, formatted straight into one string.</summary>
    internal static string CanonicalName(string key, TensorBox box, long[] shape)
    {
        if (box.IsWhole(shape)) return key;
        Span<char> text = stackalloc char[21 * box.Rank + 1];
        var used = 0;
        var offsets = box.OffsetSpan;
        for (var i = 0; i < offsets.Length; i++)
        {
            text[used++] = i == 0 ? '@' : ',';
            offsets[i].TryFormat(text[used..], out var n, default, System.Globalization.CultureInfo.InvariantCulture);
            used += n;
        }
        return string.Concat(key.AsSpan(), text[..used]);
    }
}
