using System.Text.Json.Serialization;

namespace ActorCkpt;

/// <summary>Where a step stands in the catalog.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<CheckpointStatus>))]
public enum CheckpointStatus
{
    /// <summary>Writing began and no outcome is recorded yet.</summary>
    [JsonStringEnumMemberName("in-flight")] InFlight,

    /// <summary>Committed: the checkpoint can be loaded.</summary>
    [JsonStringEnumMemberName("committed")] Committed,

    /// <summary>Abandoned: never a checkpoint.</summary>
    [JsonStringEnumMemberName("aborted")] Aborted,

    /// <summary>Was committed, then removed.</summary>
    [JsonStringEnumMemberName("deleted")] Deleted,
}

/// <summary>The catalog's record of one step (its latest attempt).</summary>
/// <param name="Step">The step.</param>
/// <param name="Status">Where it stands.</param>
/// <param name="SaveId">The latest attempt.</param>
/// <param name="WorldSize">Ranks that saved it; 0 when unknown.</param>
/// <param name="Directory">Its directory under the root; empty when it never began writing.</param>
/// <param name="StartedAt">When writing began; null when it never did.</param>
/// <param name="EndedAt">When the status last changed from in-flight.</param>
/// <param name="Files">Data files, once committed.</param>
/// <param name="Bytes">Bytes of data files, once committed.</param>
/// <param name="MetadataChecksum">xxHash3-64 of the metadata, once committed.</param>
/// <param name="Reason">Why it was aborted or deleted.</param>
/// <param name="Attempts">Attempts at the step that began writing.</param>
/// <param name="Tier">Where the latest attempt wrote: disk, or memory (then also on disk once <paramref name="Persisted"/>);
/// object for a committed step whose only copy is in the object tier (its disk copy was deleted, or it was found there).</param>
/// <param name="Persisted">A memory step also committed on disk; <paramref name="MetadataChecksum"/> is then the disk metadata's.</param>
/// <param name="Memory">A committed memory step's copies; null for a disk step.</param>
/// <param name="Uploaded">The object tier's root holding a committed copy of the step; null when none does.</param>
/// <param name="UploadedChecksum">xxHash3-64 of that copy's metadata document.</param>
public sealed record CatalogEntry(
    [property: JsonPropertyName("step")] long Step,
    [property: JsonPropertyName("status")] CheckpointStatus Status,
    [property: JsonPropertyName("save_id")] Guid SaveId,
    [property: JsonPropertyName("world_size")] int WorldSize,
    [property: JsonPropertyName("directory")] string Directory,
    [property: JsonPropertyName("started_at")] DateTimeOffset? StartedAt,
    [property: JsonPropertyName("ended_at")] DateTimeOffset? EndedAt,
    [property: JsonPropertyName("files")] int Files,
    [property: JsonPropertyName("bytes")] long Bytes,
    [property: JsonPropertyName("metadata_checksum")] string? MetadataChecksum,
    [property: JsonPropertyName("reason")] string? Reason,
    [property: JsonPropertyName("attempts")] int Attempts,
    [property: JsonPropertyName("tier"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] StorageTier Tier = StorageTier.Disk,
    [property: JsonPropertyName("persisted"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] bool Persisted = false,
    [property: JsonPropertyName("memory"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] MemoryCopies? Memory = null,
    [property: JsonPropertyName("uploaded"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Uploaded = null,
    [property: JsonPropertyName("uploaded_checksum"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? UploadedChecksum = null)
{
    /// <summary>Committed, and a copy of it is committed in the object tier's root <see cref="Uploaded"/>.</summary>
    [JsonIgnore]
    public bool OnObject => Status == CheckpointStatus.Committed && Uploaded is not null;

    /// <summary>Committed, and its files and metadata are under the root (a disk step, or a persisted memory step).</summary>
    [JsonIgnore]
    public bool OnDisk => Status == CheckpointStatus.Committed && (Tier == StorageTier.Disk || Persisted);

    /// <summary>Committed, and its memory copies are not released (some may be lost: see <see cref="MemoryCopies.Loadable"/>).</summary>
    [JsonIgnore]
    public bool InMemory => Status == CheckpointStatus.Committed && Memory is { Evicted: false };
}
