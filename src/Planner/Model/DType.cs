namespace ActorCkpt;

/// <summary>Element types a checkpoint can hold; the names follow the safetensors format.</summary>
public enum DType
{
    /// <summary>IEEE 754 single precision (F32).</summary>
    Float32,
    /// <summary>IEEE 754 double precision (F64).</summary>
    Float64,
    /// <summary>Brain floating point, 16 bits (BF16).</summary>
    BFloat16,
    /// <summary>IEEE 754 half precision (F16).</summary>
    Float16,
    /// <summary>Signed 64-bit integer (I64).</summary>
    Int64,
    /// <summary>Signed 32-bit integer (I32).</summary>
    Int32,
    /// <summary>Signed 16-bit integer (I16).</summary>
    Int16,
    /// <summary>Signed 8-bit integer (I8).</summary>
    Int8,
    /// <summary>Unsigned 8-bit integer (U8); also the type of non-tensor entries.</summary>
    UInt8,
    /// <summary>Boolean, one byte per element (BOOL).</summary>
    Bool,
}
