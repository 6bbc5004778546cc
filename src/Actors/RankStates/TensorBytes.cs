using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace ActorCkpt;

/// <summary>
/// Moves bytes between TorchSharp tensors and host memory. Contiguous CPU tensors are read and
/// written in place through <see cref="Tensor.bytes"/>; other tensors go through a contiguous CPU
/// copy (on a GPU machine that is the device-to-host copy).
/// </summary>
internal static class TensorBytes
{
    /// <summary>Copies the elements of <paramref name="tensor"/> (row-major) into <paramref name="destination"/>.</summary>
    public static void CopyTo(Tensor tensor, Span<byte> destination)
    {
        if (tensor.NumberOfElements == 0) return;
        if (IsDirect(tensor))
        {
            tensor.bytes.CopyTo(destination);
            return;
        }
        using var contiguous = tensor.contiguous();
        using var host = contiguous.device_type == DeviceType.CPU ? null : contiguous.cpu();
        (host ?? contiguous).bytes.CopyTo(destination);
    }

    /// <summary>True when <paramref name="tensor"/>'s memory can be filled in place.</summary>
    public static bool IsDirect(Tensor tensor) => tensor.device_type == DeviceType.CPU && tensor.is_contiguous();

    /// <summary>
    /// The address of a contiguous CPU tensor's first byte (null when it has no elements), whatever
    /// its size: <see cref="Tensor.bytes"/> refuses tensors over 2 GiB, so this asks a one-element
    /// view, which shares the tensor's memory.
    /// </summary>
    public static unsafe byte* Pointer(Tensor tensor)
    {
        if (!IsDirect(tensor)) throw new ArgumentException("only a contiguous CPU tensor's memory can be addressed", nameof(tensor));
        if (tensor.NumberOfElements == 0) return null;
        using var flat = tensor.view(-1);
        using var first = flat.narrow(0, 0, 1);
        return (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(first.bytes));
    }

    /// <summary>Bytes <paramref name="offset"/> to <paramref name="offset"/> + <paramref name="length"/> of a contiguous CPU tensor of any size.</summary>
    public static unsafe Span<byte> Window(Tensor tensor, long offset, int length)
    {
        var size = tensor.NumberOfElements * tensor.ElementSize;
        if (offset < 0 || length < 0 || offset + length > size)
            throw new ArgumentOutOfRangeException(nameof(offset), $"bytes {offset}..{offset + length} lie outside the tensor's {size}");
        return length == 0 ? Span<byte>.Empty : new Span<byte>(Pointer(tensor) + offset, length);
    }
}
