namespace ActorCkpt;

/// <summary>
/// Which parts of an object being uploaded are complete, from the positional writes into it:
/// part k holds bytes [k·size, (k+1)·size). A part is complete once every one of its bytes has
/// been written; writes may come in any order but never write a byte twice (the checkpoint
/// writers never do; a second write of a byte is refused, since its part may be gone already).
/// </summary>
internal sealed class PartCoverage(int partSize)
{
    private readonly Dictionary<long, int> _filled = new();
    private readonly HashSet<long> _complete = new();

    /// <summary>Bytes per part.</summary>
    public int PartSize { get; } = partSize > 0 ? partSize : throw new ArgumentOutOfRangeException(nameof(partSize));

    /// <summary>One past the last byte written so far: the object's length.</summary>
    public long Length { get; private set; }

    /// <summary>
    /// Records a write of <paramref name="length"/> bytes at <paramref name="offset"/>; returns the
    /// indexes of the parts it completed.
    /// </summary>
    public IReadOnlyList<long> Record(long offset, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        var completed = new List<long>();
        var end = checked(offset + length);
        for (var at = offset; at < end;)
        {
            var part = at / PartSize;
            var partEnd = Math.Min(end, (part + 1) * PartSize);
            if (_complete.Contains(part))
                throw new InvalidOperationException($"bytes {at}..{partEnd} were written before: part {part} is complete and may be uploaded already");
            var filled = _filled.GetValueOrDefault(part) + (int)(partEnd - at);
            if (filled > PartSize) throw new InvalidOperationException($"part {part} got {filled} bytes of {PartSize}: a byte was written twice");
            if (filled == PartSize)
            {
                _filled.Remove(part);
                _complete.Add(part);
                completed.Add(part);
            }
            else _filled[part] = filled;
            at = partEnd;
        }
        Length = Math.Max(Length, end);
        return completed;
    }

    /// <summary>True when part <paramref name="part"/> was completed by a write.</summary>
    public bool IsComplete(long part) => _complete.Contains(part);

    /// <summary>How many parts the object has at its present <see cref="Length"/> (the last may be short).</summary>
    public long PartCount => (Length + PartSize - 1) / PartSize;

    /// <summary>The length of part <paramref name="part"/> at the present <see cref="Length"/>.</summary>
    public int LengthOf(long part) => (int)Math.Min(PartSize, Length - part * PartSize);
}
