using System.Buffers.Binary;

namespace ActorCkpt;

/// <summary>
/// Little-endian fields read front to back from a part of a binary metadata file, every read
/// bounded by what is left: a field that does not fit, a count larger than the bytes that would
/// hold it, is refused with one <see cref="CheckpointFormatException"/> naming the file, the part
/// (<c>where</c>) and the field.
/// </summary>
internal ref struct MetadataFieldReader(ReadOnlySpan<byte> span, string file, string where)
{
    private ReadOnlySpan<byte> _rest = span;

    /// <summary>Bytes not read yet.</summary>
    public readonly int Remaining => _rest.Length;

    public byte U8(string field) => Take(1, field)[0];

    public uint U32(string field) => BinaryPrimitives.ReadUInt32LittleEndian(Take(4, field));

    public int I32(string field) => BinaryPrimitives.ReadInt32LittleEndian(Take(4, field));

    public long I64(string field) => BinaryPrimitives.ReadInt64LittleEndian(Take(8, field));

    public ulong U64(string field) => BinaryPrimitives.ReadUInt64LittleEndian(Take(8, field));

    /// <summary>A 64-bit field that must not be negative.</summary>
    public long NonNegative(string field)
    {
        var v = I64(field);
        return v >= 0 ? v : throw Fail(field, $"{v} is negative");
    }

    /// <summary>A count of items of <paramref name="itemBytes"/> bytes each that must all fit in what is left after it.</summary>
    public int Count(string field, long itemBytes)
    {
        var n = U32(field);
        var available = _rest.Length;
        return n <= available / Math.Max(1, itemBytes) && n <= int.MaxValue ? (int)n
            : throw Fail(field, $"{n} items of {itemBytes} bytes cannot fit in the {available} bytes there are");
    }

    /// <summary>The next <paramref name="count"/> bytes.</summary>
    public ReadOnlySpan<byte> Take(int count, string field)
    {
        if (count < 0 || count > _rest.Length) throw Fail(field, $"needs {count} bytes, {_rest.Length} are left");
        var taken = _rest[..count];
        _rest = _rest[count..];
        return taken;
    }

    /// <summary>Skips <paramref name="count"/> 8-byte values.</summary>
    public void SkipLongs(int count, string field) =>
        Take(count >= 0 && count <= _rest.Length / 8 ? count * 8 : throw Fail(field, $"{count} values need more than the {_rest.Length} bytes left"), field);

    /// <summary>Throws unless everything was read.</summary>
    public readonly void End()
    {
        if (_rest.Length != 0) throw Fail("(end)", $"{_rest.Length} bytes are left over");
    }

    /// <summary>The refusal of <paramref name="field"/> for <paramref name="problem"/>.</summary>
    public readonly CheckpointFormatException Fail(string field, string problem) => Refuse(file, where, field, problem);

    /// <summary>The one refusal every fault of a binary metadata file gets.</summary>
    public static CheckpointFormatException Refuse(string file, string where, string field, string problem) =>
        new(file, $"binary metadata, {where}: \"{field}\" {problem}");
}
