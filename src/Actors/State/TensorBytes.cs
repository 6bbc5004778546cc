using TorchSharp;
using static TorchSharp.torch;

namespace ActorCkpt.Actors;

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
}
