namespace ActorCkpt;

/// <summary>What a load's lease request resolves to.</summary>
/// <param name="Step">The step (the newest committed one when the request named none; -1 when there is none).</param>
/// <param name="MetadataChecksum">The catalog's checksum of its metadata.</param>
/// <param name="Refusal">Why it cannot be loaded, or null when the lease is granted.</param>
internal sealed record LeaseResolution(long Step, string MetadataChecksum, string? Refusal);
