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
    [InlineData(0x7d00u, 0x7fe00000u)]   // signalling NaNs come out quiet, payload kept: as torch 1.13 gives them
    [InlineData(0x7c01u, 0x7fc02000u)]
    [InlineData(0xfe00u, 0xffc00000u)]
    [InlineData(0x3c00u, 0x3f800000u)]   // 1.0
    [InlineData(0x0001u, 0x33800000u)]   // the smallest subnormal
    public void Float16_to_float32_should_give_what_pytorch_gives(uint half, uint single)
    {
        var target = new byte[4];
        FloatConversion.Convert(BitConverter.GetBytes((ushort)half), DType.Float16, target, DType.Float32);
        Assert.Equal(single, BinaryPrimitives.ReadUInt32LittleEndian(target));
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
