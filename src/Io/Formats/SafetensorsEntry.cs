
namespace ActorCkpt;

/// <summary>A tensor in a safetensors header.</summary>
/// <param name="Name">Name of the tensor in the file.</param>
/// <param name="DType">Element type.</param>
/// <param name="Shape">Shape of the stored tensor.</param>
/// <param name="Begin">First byte, relative to the start of the data section.</param>
/// <param name="End">One past the last byte, relative to the start of the data section.</param>
internal sealed record SafetensorsEntry(string Name, DType DType, IReadOnlyList<long> Shape, long Begin, long End)
{
    /// <summary>Byte length of the tensor.</summary>
    public long Length => End - Begin;
}
