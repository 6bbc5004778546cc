using System.Buffers.Binary;

namespace ActorCkpt;

/// <summary>
/// Converts little-endian floating-point tensor bytes between F64, F32, F16 and BF16 (for exports
/// with a dtype other than the checkpoint's). Through float: to BF16 with round-to-nearest-even,
/// NaN kept NaN, as PyTorch's <c>tensor.to(torch.bfloat16)</c> does. An F64 value is rounded to
/// float first, as PyTorch does too: a double just above a BF16 midpoint can land on it and round
/// to even (down), so the output matches PyTorch's bit for bit rather than a single rounding.
/// Between the 32- and 16-bit types no value passes through double: a float widened to double has a
/// signalling NaN quieted, so BF16 to F32, which PyTorch does as a shift that keeps every bit, would not.
/// </summary>
internal static class FloatConversion
{
    /// <summary>True for the dtypes this converts.</summary>
    public static bool IsFloat(DType dtype) => dtype is DType.Float64 or DType.Float32 or DType.Float16 or DType.BFloat16;

    /// <summary>Converts <paramref name="source"/> (elements of <paramref name="from"/>) into <paramref name="target"/> (elements of <paramref name="to"/>).</summary>
    public static void Convert(ReadOnlySpan<byte> source, DType from, Span<byte> target, DType to)
    {
        if (!IsFloat(from) || !IsFloat(to)) throw new ArgumentException($"only floating-point dtypes convert, not {from} to {to}");
        int inSize = DTypes.ElementSize(from), outSize = DTypes.ElementSize(to);
        var n = source.Length / inSize;
        if (target.Length != n * outSize) throw new ArgumentException($"{n} elements of {to} need {n * outSize} bytes, not {target.Length}", nameof(target));
        var throughDouble = from == DType.Float64 || to == DType.Float64;
        for (var i = 0; i < n; i++)
        {
            var s = source.Slice(i * inSize, inSize);
            var t = target.Slice(i * outSize, outSize);
            if (throughDouble) Write(t, to, Read(s, from));
            else WriteSingle(t, to, ReadSingle(s, from));
        }
    }

    /// <summary>The float32 nearest to BF16 <paramref name="bits"/> (exact).</summary>
    public static float FromBFloat16(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>BF16 bits of <paramref name="value"/>, rounded to nearest even.</summary>
    public static ushort ToBFloat16(float value)
    {
        if (float.IsNaN(value)) return 0x7FC0;
        var bits = BitConverter.SingleToUInt32Bits(value);
        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
    }

    private static double Read(ReadOnlySpan<byte> b, DType dtype) => dtype switch
    {
        DType.Float64 => BinaryPrimitives.ReadDoubleLittleEndian(b),
        DType.Float32 => BinaryPrimitives.ReadSingleLittleEndian(b),
        DType.Float16 => (double)BinaryPrimitives.ReadHalfLittleEndian(b),
        _ => FromBFloat16(BinaryPrimitives.ReadUInt16LittleEndian(b)),
    };

    private static float ReadSingle(ReadOnlySpan<byte> b, DType dtype) => dtype switch
    {
        DType.Float32 => BinaryPrimitives.ReadSingleLittleEndian(b),
        DType.Float16 => (float)BinaryPrimitives.ReadHalfLittleEndian(b),
        _ => FromBFloat16(BinaryPrimitives.ReadUInt16LittleEndian(b)),
    };

    private static void WriteSingle(Span<byte> b, DType dtype, float value)
    {
        switch (dtype)
        {
            case DType.Float32: BinaryPrimitives.WriteSingleLittleEndian(b, value); break;
            case DType.Float16: BinaryPrimitives.WriteHalfLittleEndian(b, (Half)value); break;
            default: BinaryPrimitives.WriteUInt16LittleEndian(b, ToBFloat16(value)); break;
        }
    }

    private static void Write(Span<byte> b, DType dtype, double value)
    {
        switch (dtype)
        {
            case DType.Float64: BinaryPrimitives.WriteDoubleLittleEndian(b, value); break;
            case DType.Float32: BinaryPrimitives.WriteSingleLittleEndian(b, (float)value); break;
            case DType.Float16: BinaryPrimitives.WriteHalfLittleEndian(b, (Half)value); break;
            default: BinaryPrimitives.WriteUInt16LittleEndian(b, ToBFloat16((float)value)); break;
        }
    }
}
