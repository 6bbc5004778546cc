using TorchSharp;

namespace ActorCkpt;

/// <summary>
/// A tensor of a rank's state and its place in the global tensor. The tensor is the caller's
/// (often a live parameter): ActorCkpt reads or fills it but never disposes it.
/// </summary>
/// <param name="Key">Flattened state key.</param>
/// <param name="Tensor">The rank's local piece.</param>
/// <param name="GlobalShape">Shape of the whole tensor across ranks.</param>
/// <param name="Box">Where the local piece sits in the global tensor.</param>
public sealed record TensorEntry(string Key, torch.Tensor Tensor, IReadOnlyList<long> GlobalShape, TensorBox Box)
{
    /// <summary>The checkpoint dtype of the tensor.</summary>
    public DType DType => TorchDTypes.ToDType(Tensor.dtype);
}
