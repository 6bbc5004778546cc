namespace ActorCkpt;

/// <summary>
/// Where a memory load reads step data: the memory tier's metadata under the root, this host's own
/// copies in its tmpfs store, and the other holders' copies through their readers.
/// </summary>
/// <param name="Metadata">The store of memory steps' metadata (<c>&lt;root&gt;/memory</c>).</param>
/// <param name="Local">This host's replica store, when this node holds copies.</param>
/// <param name="OwnHost">This host, whose copies are read from <paramref name="Local"/>; null when it holds none.</param>
/// <param name="Holders">Each data file's holders, in the order to try them.</param>
/// <param name="Fetch">Fetches a range of a copy from a holder node's reader (memory tier).</param>
/// <param name="Refused">Hears each copy whose checksum failed, or that was gone (the planner marks it lost).</param>
internal sealed record MemoryLoadSource(
    CheckpointStore Metadata,
    ReplicaStore? Local,
    string? OwnHost,
    IReadOnlyList<FileHolders> Holders,
    RangeFetcher Fetch,
    Action<ReplicaRefused> Refused);
