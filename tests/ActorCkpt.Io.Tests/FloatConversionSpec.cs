using System.Buffers.Binary;

namespace ActorCkpt.Io.Tests;

public class FloatConversionSpec
{
    [Fact]
    public void BFloat16_to_float32_should_keep_every_bit_signalling_nans_included()
    {
        // Every BF16 bit pattern, as PyTorch's to(torch.float32) gives it: the bits shifted up by 16.
        // Before, a value went through double, which quieted signalling NaNs (0x7f90 came out 0x7fd00000).
        var source = new byte[65536 * 2];
        for (var v = 0; v < 65536; v++) BinaryPrimitives.WriteUInt16LittleEndian(source.AsSpan(v * 2), (ushort)v);
        var target = new byte[65536 * 4];

        FloatConversion.Convert(source, DType.BFloat16, target, DType.Float32);

        for (var v = 0; v < 65536; v++)
            Assert.True((uint)v << 16 == BinaryPrimitives.ReadUInt32LittleEndian(target.AsSpan(v * 4)), $"BF16 0x{v:x4}");
    }

    [Theory]
    [InlineData(0x7f90u)]
    [InlineData(0xff87u)]
    public void A_signalling_nan_through_float64_should_stay_nan(uint bits)
    {
        var source = BitConverter.GetBytes((ushort)bits);
        var wide = new byte[8];
        FloatConversion.Convert(source, DType.BFloat16, wide, DType.Float64);
        Assert.True(double.IsNaN(BinaryPrimitives.ReadDoubleLittleEndian(wide)));
        var back = new byte[2];
        FloatConversion.Convert(wide, DType.Float64, back, DType.BFloat16);
        Assert.Equal(0x7FC0, BinaryPrimitives.ReadUInt16LittleEndian(back));
    }
}
