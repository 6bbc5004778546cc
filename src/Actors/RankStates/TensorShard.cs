using TorchSharp;

namespace ActorCkpt;

/// <summary>A leaf of nested state for a sharded tensor: the local piece and where it sits in the global tensor.</summary>
/// <param name="Local">The rank's piece.</param>
/// <param name="GlobalShape">Shape of the whole tensor.</param>
/// <param name="Offsets">Offsets of the piece in each dimension.</param>
internal sealed record TensorShard(torch.Tensor Local, IReadOnlyList<long> GlobalShape, IReadOnlyList<long> Offsets);
