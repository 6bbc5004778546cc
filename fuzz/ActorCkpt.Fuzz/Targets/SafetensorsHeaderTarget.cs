using System.Numerics;

namespace ActorCkpt.Fuzz;

/// <summary>
/// A safetensors file (header and data section): <see cref="SafetensorsHeader.Read"/> must accept
/// or refuse with <see cref="CheckpointFormatException"/>, and every entry it accepts must lie
/// inside the file and span exactly the bytes its shape needs (computed without overflow).
/// </summary>
internal sealed class SafetensorsHeaderTarget : FuzzTarget
{
    /// <inheritdoc />
    public override string Name => "safetensors";

    /// <inheritdoc />
    protected override void Feed(ReadOnlySpan<byte> input)
    {
        using var reader = new MemoryBlobReader(input.ToArray());
        var header = SafetensorsHeader.Read(reader, "model.safetensors");
        foreach (var e in header.Entries)
            if (e.Begin < 0 || e.End < e.Begin || header.DataStart + e.End > reader.Length)
                throw new InvalidOperationException($"accepted entry '{e.Name}' [{e.Begin}, {e.End}) lies outside the file");
            else if (e.Shape.Any(s => s < 0) || ExactBytes(e.Shape, e.DType) != e.Length)
                throw new InvalidOperationException($"accepted entry '{e.Name}' spans {e.Length} bytes, not what its shape {Shapes.Format(e.Shape)} needs");
    }

    /// <summary>The bytes of <paramref name="shape"/> in arbitrary precision.</summary>
    public static BigInteger ExactBytes(IReadOnlyList<long> shape, DType dtype) =>
        shape.Aggregate(new BigInteger(DTypes.ElementSize(dtype)), (v, s) => v * s);

    /// <inheritdoc />
    protected override bool IsBadInput(Exception e) => e is CheckpointFormatException;
}
