
namespace ActorCkpt;

/// <summary>A non-tensor entry of a rank's state: bytes the host serialized (iteration, RNG, data loader).</summary>
/// <param name="Key">Flattened state key.</param>
/// <param name="Bytes">The value's bytes.</param>
/// <param name="Scope">Global (one value for the job) or per rank.</param>
public sealed record ObjectEntry(string Key, byte[] Bytes, ObjectScope Scope);
