using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace ActorCkpt;

/// <summary>
/// A contiguous CPU tensor's own memory (or a byte range of it) as <see cref="Memory{T}"/>, so a
/// writer can read the tensor where it is. Holds the tensor, not a copy: the caller keeps it
/// alive and unchanged while writers read.
/// </summary>
internal sealed unsafe class TensorMemory : MemoryManager<byte>
{
    private readonly Tensor _tensor;
    private readonly byte* _pointer;
    private readonly int _length;

    /// <summary>Bytes <paramref name="offset"/> to <paramref name="offset"/> + <paramref name="length"/> of <paramref name="tensor"/>.</summary>
    public TensorMemory(Tensor tensor, long offset, int length)
    {
        if (!TensorBytes.IsDirect(tensor)) throw new ArgumentException("only a contiguous CPU tensor's memory can be referenced", nameof(tensor));
        _tensor = tensor;
        _length = length;
        _pointer = length == 0 ? null : (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(TensorBytes.Window(tensor, offset, length)));
    }

    /// <inheritdoc />
    public override Span<byte> GetSpan() => new(_pointer, _length);

    /// <inheritdoc />
    public override MemoryHandle Pin(int elementIndex = 0) => new(_pointer + elementIndex);

    /// <inheritdoc />
    public override void Unpin() { }

    /// <inheritdoc />
    protected override void Dispose(bool disposing) { }
}
