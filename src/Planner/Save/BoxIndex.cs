namespace ActorCkpt;

/// <summary>
/// The distinct chunks (boxes) of one key in the order each first came, each with its number
/// there. At 4,096 ranks a sharded key has 4,096 chunks and a replicated one 4,096 copies of one
/// chunk: while every new chunk starts after the previous one along some dimension (ranks holding
/// consecutive rows or columns) it is new without a lookup, a copy of the only chunk so far is
/// recognised by one comparison, and a dictionary of the chunks is built only when neither holds.
/// </summary>
/// <param name="expected">How many distinct chunks to make room for when the dictionary is built.</param>
internal sealed class BoxIndex(int expected)
{
    private readonly List<TensorBox> _boxes = new();
    private Dictionary<TensorBox, int>? _byBox;
    // Bit d: along dimension d every chunk so far starts after the one before it.
    private ulong _ascending;

    /// <summary>The distinct chunks, in the order each first came.</summary>
    public List<TensorBox> Boxes => _boxes;

    /// <summary>The number of <paramref name="box"/> among the distinct chunks; <paramref name="added"/> when it was not one yet.</summary>
    public int Add(TensorBox box, out bool added)
    {
        var n = _boxes.Count;
        if (_byBox is null)
        {
            added = true;
            if (n == 0)
            {
                _ascending = box.Rank is > 0 and < 64 ? (1UL << box.Rank) - 1 : 0;
                _boxes.Add(box);
                return 0;
            }
            var last = _boxes[n - 1];
            if (_ascending != 0 && box.Rank == last.Rank)
            {
                // Past the last chunk along a dimension where all came in ascending order: past
                // every chunk there, so equal to none.
                var still = 0UL;
                var offsets = box.OffsetSpan;
                var lastOffsets = last.OffsetSpan;
                for (var d = 0; d < offsets.Length; d++)
                    if ((_ascending & (1UL << d)) != 0 && offsets[d] > lastOffsets[d]) still |= 1UL << d;
                if (still != 0)
                {
                    _ascending = still;
                    _boxes.Add(box);
                    return n;
                }
            }
            if (n == 1 && _boxes[0].Equals(box))
            {
                added = false;
                return 0;
            }
            _byBox = new Dictionary<TensorBox, int>(Math.Max(expected, n + 1));
            for (var i = 0; i < n; i++) _byBox.Add(_boxes[i], i);
        }
        if (_byBox.TryGetValue(box, out var known))
        {
            added = false;
            return known;
        }
        _byBox.Add(box, n);
        _boxes.Add(box);
        added = true;
        return n;
    }
}
