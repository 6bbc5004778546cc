namespace ActorCkpt;

/// <summary>
/// A rectangular part of a tensor: where it starts (offsets) and how far it reaches (lengths) in
/// each dimension of the global tensor. A chunk saved by a rank and a chunk wanted by a rank on
/// load are both boxes; resharding is box intersection. Immutable, compared by value.
/// </summary>
public sealed class TensorBox : IEquatable<TensorBox>
{
    private readonly long[] _offsets;
    private readonly long[] _lengths;
    private readonly int _hash;

    /// <summary>
    /// Creates a box; offsets and lengths must have the same rank and be non-negative, and each
    /// dimension's end (offset + length) must fit in 64 bits, so no box arithmetic can wrap.
    /// </summary>
    public TensorBox(IReadOnlyList<long> offsets, IReadOnlyList<long> lengths)
        : this(offsets.ToArray(), lengths.ToArray())
    {
    }

    /// <summary>A box over arrays no one else holds (copied by the public constructor, handed over by <see cref="Owning"/>): a reader decoding a million chunks copies nothing.</summary>
    private TensorBox(long[] offsets, long[] lengths)
    {
        if (offsets.Length != lengths.Length)
            throw new ArgumentException($"offsets {Shapes.Format(offsets)} and lengths {Shapes.Format(lengths)} differ in rank");
        for (var i = 0; i < offsets.Length; i++)
        {
            if (offsets[i] < 0 || lengths[i] < 0)
                throw new ArgumentException($"negative offset or length in {Shapes.Format(offsets)} / {Shapes.Format(lengths)}");
            if (lengths[i] > long.MaxValue - offsets[i])
                throw new ArgumentException($"offset + length overflows 64 bits in dimension {i} of {Shapes.Format(offsets)} / {Shapes.Format(lengths)}");
        }
        _offsets = offsets;
        _lengths = lengths;
        _hash = Hash(offsets, lengths);
    }

    /// <summary>A box that takes <paramref name="offsets"/> and <paramref name="lengths"/> as they are: the caller made them and never touches them again.</summary>
    internal static TensorBox Owning(long[] offsets, long[] lengths) => new(offsets, lengths);

    private static int Hash(long[] offsets, long[] lengths)
    {
        // Boxes key the planners' dictionaries (a million items at scale): hash once. The hash is
        // the same in every process (HashCode's is seeded per process), because a box that crossed
        // the wire arrives with the field its sender computed.
        long h = 17;
        foreach (var o in offsets) h = h * 1_000_003 + o;
        foreach (var l in lengths) h = h * 1_000_003 + l;
        return (int)(h ^ (h >> 32));
    }

    /// <summary>The box that is the whole tensor of <paramref name="shape"/>.</summary>
    public static TensorBox Whole(IReadOnlyList<long> shape) => new(new long[shape.Count], shape);

    /// <summary>Start of the box in each dimension of the global tensor.</summary>
    public IReadOnlyList<long> Offsets => _offsets;

    /// <summary>Extent of the box in each dimension.</summary>
    public IReadOnlyList<long> Lengths => _lengths;

    /// <summary>The offsets without an interface call per element, for hot loops.</summary>
    internal ReadOnlySpan<long> OffsetSpan => _offsets;

    /// <summary>The lengths without an interface call per element, for hot loops.</summary>
    internal ReadOnlySpan<long> LengthSpan => _lengths;

    /// <summary>Number of dimensions.</summary>
    public int Rank => _offsets.Length;

    /// <summary>Number of elements in the box.</summary>
    public long Volume
    {
        get
        {
            // Shapes.Volume's arithmetic on the array itself: this runs several times per item of a plan.
            if (Array.IndexOf(_lengths, 0L) >= 0) return 0;
            long v = 1;
            foreach (var l in _lengths) v = checked(v * l);
            return v;
        }
    }

    /// <summary>True when the box lies inside a tensor of <paramref name="shape"/>.</summary>
    public bool FitsIn(IReadOnlyList<long> shape)
    {
        if (shape.Count != Rank) return false;
        for (var i = 0; i < Rank; i++)
            if (_offsets[i] + _lengths[i] > shape[i]) return false; // the constructor keeps the sum in range
        return true;
    }

    /// <summary>True when this box is the whole of a tensor of <paramref name="shape"/>.</summary>
    public bool IsWhole(IReadOnlyList<long> shape)
    {
        if (shape.Count != Rank) return false;
        for (var i = 0; i < Rank; i++)
            if (_offsets[i] != 0 || _lengths[i] != shape[i]) return false;
        return true;
    }

    /// <summary>The common part of two boxes, or null when they share no element.</summary>
    public TensorBox? Intersect(TensorBox other)
    {
        if (other.Rank != Rank) throw new ArgumentException($"boxes of rank {Rank} and {other.Rank} cannot intersect");
        var offsets = new long[Rank];
        var lengths = new long[Rank];
        for (var i = 0; i < Rank; i++)
        {
            var start = Math.Max(_offsets[i], other._offsets[i]);
            var end = Math.Min(_offsets[i] + _lengths[i], other._offsets[i] + other._lengths[i]);
            if (end <= start) return null;
            offsets[i] = start;
            lengths[i] = end - start;
        }
        return new TensorBox(offsets, lengths);
    }

    /// <summary>
    /// True when this box, inside <paramref name="outer"/>, is one run of consecutive elements of a
    /// row-major array laid out as <paramref name="outer"/>: after its leading dimensions of length
    /// 1, one dimension of any length, then only dimensions <paramref name="outer"/> holds whole.
    /// </summary>
    public bool IsContiguousIn(TensorBox outer)
    {
        var d = 0;
        while (d < Rank && _lengths[d] == 1) d++;
        for (d++; d < Rank; d++)
            if (_lengths[d] != outer._lengths[d]) return false;
        return true;
    }

    /// <summary>Offsets of this box relative to the start of <paramref name="outer"/>.</summary>
    public long[] OffsetsWithin(TensorBox outer)
    {
        var rel = new long[Rank];
        for (var i = 0; i < Rank; i++) rel[i] = _offsets[i] - outer._offsets[i];
        return rel;
    }

    /// <inheritdoc />
    public bool Equals(TensorBox? other) =>
        other is not null && _hash == other._hash && _offsets.AsSpan().SequenceEqual(other._offsets) && _lengths.AsSpan().SequenceEqual(other._lengths);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as TensorBox);

    /// <inheritdoc />
    public override int GetHashCode() => _hash;

    /// <summary>"offsets [0, 512] lengths [512, 1024]".</summary>
    public override string ToString() => $"offsets {Shapes.Format(_offsets)} lengths {Shapes.Format(_lengths)}";
}
