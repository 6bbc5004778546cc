namespace ActorCkpt;

/// <summary>Sizes and safetensors codes of <see cref="DType"/> values.</summary>
internal static class DTypes
{
    /// <summary>Bytes per element.</summary>
    public static int ElementSize(DType dtype) => dtype switch
    {
        DType.Float64 or DType.Int64 => 8,
        DType.Float32 or DType.Int32 => 4,
        DType.BFloat16 or DType.Float16 or DType.Int16 => 2,
        DType.Int8 or DType.UInt8 or DType.Bool => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype"),
    };

    /// <summary>The dtype's code in a safetensors header ("F32", "BF16", ...).</summary>
    public static string ToSafetensors(DType dtype) => dtype switch
    {
        DType.Float32 => "F32",
        DType.Float64 => "F64",
        DType.BFloat16 => "BF16",
        DType.Float16 => "F16",
        DType.Int64 => "I64",
        DType.Int32 => "I32",
        DType.Int16 => "I16",
        DType.Int8 => "I8",
        DType.UInt8 => "U8",
        DType.Bool => "BOOL",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype"),
    };

    /// <summary>True when <paramref name="code"/> is a safetensors dtype code ActorCkpt loads (<see cref="FromSafetensors"/> takes it).</summary>
    public static bool IsSafetensors(string code) => code is "F32" or "F64" or "BF16" or "F16" or "I64" or "I32" or "I16" or "I8" or "U8" or "BOOL";

    /// <summary>Parses a safetensors dtype code; throws naming the code when it is not supported.</summary>
    public static DType FromSafetensors(string code) => code switch
    {
        "F32" => DType.Float32,
        "F64" => DType.Float64,
        "BF16" => DType.BFloat16,
        "F16" => DType.Float16,
        "I64" => DType.Int64,
        "I32" => DType.Int32,
        "I16" => DType.Int16,
        "I8" => DType.Int8,
        "U8" => DType.UInt8,
        "BOOL" => DType.Bool,
        _ => throw new ActorCkptException($"unsupported safetensors dtype '{code}'"),
    };
}
