using TorchSharp;

namespace ActorCkpt;

/// <summary>Maps TorchSharp's scalar types to checkpoint dtypes.</summary>
internal static class TorchDTypes
{
    /// <summary>The checkpoint dtype of a TorchSharp scalar type; throws naming the type when it has none.</summary>
    public static DType ToDType(torch.ScalarType type) => type switch
    {
        torch.ScalarType.Float32 => DType.Float32,
        torch.ScalarType.Float64 => DType.Float64,
        torch.ScalarType.BFloat16 => DType.BFloat16,
        torch.ScalarType.Float16 => DType.Float16,
        torch.ScalarType.Int64 => DType.Int64,
        torch.ScalarType.Int32 => DType.Int32,
        torch.ScalarType.Int16 => DType.Int16,
        torch.ScalarType.Int8 => DType.Int8,
        torch.ScalarType.Byte => DType.UInt8,
        torch.ScalarType.Bool => DType.Bool,
        _ => throw new ActorCkptException($"tensors of type {type} cannot be checkpointed"),
    };

    /// <summary>The TorchSharp scalar type of a checkpoint dtype.</summary>
    public static torch.ScalarType ToScalarType(DType dtype) => dtype switch
    {
        DType.Float32 => torch.ScalarType.Float32,
        DType.Float64 => torch.ScalarType.Float64,
        DType.BFloat16 => torch.ScalarType.BFloat16,
        DType.Float16 => torch.ScalarType.Float16,
        DType.Int64 => torch.ScalarType.Int64,
        DType.Int32 => torch.ScalarType.Int32,
        DType.Int16 => torch.ScalarType.Int16,
        DType.Int8 => torch.ScalarType.Int8,
        DType.UInt8 => torch.ScalarType.Byte,
        DType.Bool => torch.ScalarType.Bool,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype"),
    };
}
