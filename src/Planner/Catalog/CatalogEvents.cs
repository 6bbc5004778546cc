using System.Text.Json.Serialization;

namespace ActorCkpt;

/// <summary>
/// What the catalog journal holds: events and snapshots. They are stored as JSON with explicit
/// field names, so renaming a property in code never breaks an existing journal.
/// </summary>
internal interface ICatalogRecord;

/// <summary>An event of the checkpoint catalog.</summary>
internal interface ICatalogEvent : ICatalogRecord
{
    /// <summary>The step the event is about.</summary>
    long Step { get; }
}

/// <summary>A save began writing: its directory is about to be created.</summary>
/// <param name="Step">The step.</param>
/// <param name="SaveId">The attempt.</param>
/// <param name="WorldSize">Ranks that save it.</param>
/// <param name="Directory">The step's directory, relative to the checkpoint root.</param>
/// <param name="Time">When.</param>
/// <param name="Tier">Where the save writes; left out of the journal for disk, so disk events read as before.</param>
internal sealed record SaveStarted(
    [property: JsonPropertyName("step")] long Step,
    [property: JsonPropertyName("save_id")] Guid SaveId,
    [property: JsonPropertyName("world_size")] int WorldSize,
    [property: JsonPropertyName("directory")] string Directory,
    [property: JsonPropertyName("time")] DateTimeOffset Time,
    [property: JsonPropertyName("tier"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] StorageTier Tier = StorageTier.Disk) : ICatalogEvent;

/// <summary>A save committed: its metadata was renamed into place.</summary>
/// <param name="Step">The step.</param>
/// <param name="SaveId">The attempt; empty when the commit was found on disk rather than seen happen.</param>
/// <param name="MetadataChecksum">xxHash3-64 of the metadata document, as 16 hex digits.</param>
/// <param name="Files">Data files.</param>
/// <param name="Bytes">Bytes of the data files.</param>
/// <param name="Time">When.</param>
/// <param name="Note">How the commit became known, when not by the planner that made it.</param>
internal sealed record SaveCommitted(
    [property: JsonPropertyName("step")] long Step,
    [property: JsonPropertyName("save_id")] Guid SaveId,
    [property: JsonPropertyName("metadata_checksum")] string MetadataChecksum,
    [property: JsonPropertyName("files")] int Files,
    [property: JsonPropertyName("bytes")] long Bytes,
    [property: JsonPropertyName("time")] DateTimeOffset Time,
    [property: JsonPropertyName("note")] string? Note = null) : ICatalogEvent;

/// <summary>A save was abandoned; nothing of it is a checkpoint.</summary>
/// <param name="Step">The step.</param>
/// <param name="SaveId">The attempt (empty when it never began writing).</param>
/// <param name="Reason">Why.</param>
/// <param name="Time">When.</param>
internal sealed record SaveAborted(
    [property: JsonPropertyName("step")] long Step,
    [property: JsonPropertyName("save_id")] Guid SaveId,
    [property: JsonPropertyName("reason")] string Reason,
    [property: JsonPropertyName("time")] DateTimeOffset Time) : ICatalogEvent;

/// <summary>A committed checkpoint is to be removed (retention or an explicit request); its files go in the background.</summary>
/// <param name="Step">The step.</param>
/// <param name="Reason">Why.</param>
/// <param name="Time">When.</param>
internal sealed record CheckpointDeleted(
    [property: JsonPropertyName("step")] long Step,
    [property: JsonPropertyName("reason")] string Reason,
    [property: JsonPropertyName("time")] DateTimeOffset Time) : ICatalogEvent;

/// <summary>A memory save committed: every data file is held by its replicas' hosts, which acknowledged it.</summary>
/// <param name="Step">The step.</param>
/// <param name="SaveId">The attempt.</param>
/// <param name="Files">Data files.</param>
/// <param name="Bytes">Bytes of the data files (one copy).</param>
/// <param name="Copies">The memory metadata's checksum and each file's holders (none lost).</param>
/// <param name="Time">When.</param>
internal sealed record MemoryStepCommitted(
    [property: JsonPropertyName("step")] long Step,
    [property: JsonPropertyName("save_id")] Guid SaveId,
    [property: JsonPropertyName("files")] int Files,
    [property: JsonPropertyName("bytes")] long Bytes,
    [property: JsonPropertyName("copies")] MemoryCopies Copies,
    [property: JsonPropertyName("time")] DateTimeOffset Time) : ICatalogEvent;

/// <summary>A host's copies of a memory step are gone: the host left the cluster, restarted without them, or one was refused.</summary>
/// <param name="Step">The step.</param>
/// <param name="Host">The host.</param>
/// <param name="Files">The data files whose copies went; null for every copy the host held.</param>
/// <param name="Reason">Why.</param>
/// <param name="Time">When.</param>
internal sealed record ReplicasLost(
    [property: JsonPropertyName("step")] long Step,
    [property: JsonPropertyName("host")] string Host,
    [property: JsonPropertyName("files")] IReadOnlyList<string>? Files,
    [property: JsonPropertyName("reason")] string Reason,
    [property: JsonPropertyName("time")] DateTimeOffset Time) : ICatalogEvent;

/// <summary>A host that was marked lost announced it still holds copies of a memory step (a process restarted on the same host).</summary>
/// <param name="Step">The step.</param>
/// <param name="Host">The host.</param>
/// <param name="Files">The data files it holds again; null for every copy placed on it.</param>
/// <param name="Time">When.</param>
internal sealed record ReplicasRestored(
    [property: JsonPropertyName("step")] long Step,
    [property: JsonPropertyName("host")] string Host,
    [property: JsonPropertyName("files")] IReadOnlyList<string>? Files,
    [property: JsonPropertyName("time")] DateTimeOffset Time) : ICatalogEvent;

/// <summary>
/// A host now holds copies of a memory step it was not placed on: made from a surviving holder's
/// copy after another host's were lost (<c>tiers.memory.re-replicate</c>), each checked whole against
/// the copy it was made from.
/// </summary>
/// <param name="Step">The step.</param>
/// <param name="Host">The host holding the new copies.</param>
/// <param name="Files">The data files it now holds.</param>
/// <param name="Time">When.</param>
internal sealed record ReplicasAdded(
    [property: JsonPropertyName("step")] long Step,
    [property: JsonPropertyName("host")] string Host,
    [property: JsonPropertyName("files")] IReadOnlyList<string> Files,
    [property: JsonPropertyName("time")] DateTimeOffset Time) : ICatalogEvent;

/// <summary>A memory step was written to the disk tier from its holders' memory and committed there too.</summary>
/// <param name="Step">The step.</param>
/// <param name="SaveId">The memory save it persists.</param>
/// <param name="MetadataChecksum">xxHash3-64 of the disk metadata document, as 16 hex digits.</param>
/// <param name="Time">When.</param>
internal sealed record StepPersisted(
    [property: JsonPropertyName("step")] long Step,
    [property: JsonPropertyName("save_id")] Guid SaveId,
    [property: JsonPropertyName("metadata_checksum")] string MetadataChecksum,
    [property: JsonPropertyName("time")] DateTimeOffset Time) : ICatalogEvent;

/// <summary>A memory step's copies are released (the budget, or a newer step); a step not also on disk is then gone.</summary>
/// <param name="Step">The step.</param>
/// <param name="Reason">Why.</param>
/// <param name="Time">When.</param>
internal sealed record ReplicasEvicted(
    [property: JsonPropertyName("step")] long Step,
    [property: JsonPropertyName("reason")] string Reason,
    [property: JsonPropertyName("time")] DateTimeOffset Time) : ICatalogEvent;

/// <summary>A committed step's copy is committed in the object tier (uploaded in the background, or found there on start).</summary>
/// <param name="Step">The step.</param>
/// <param name="SaveId">The attempt uploaded; empty when the copy was found rather than seen uploaded.</param>
/// <param name="Root">The object tier's root, as configured.</param>
/// <param name="MetadataChecksum">xxHash3-64 of the copy's metadata document, as 16 hex digits.</param>
/// <param name="Files">Its data files.</param>
/// <param name="Bytes">Bytes of its data files.</param>
/// <param name="Time">When.</param>
internal sealed record StepUploaded(
    [property: JsonPropertyName("step")] long Step,
    [property: JsonPropertyName("save_id")] Guid SaveId,
    [property: JsonPropertyName("root")] string Root,
    [property: JsonPropertyName("metadata_checksum")] string MetadataChecksum,
    [property: JsonPropertyName("files")] int Files,
    [property: JsonPropertyName("bytes")] long Bytes,
    [property: JsonPropertyName("time")] DateTimeOffset Time) : ICatalogEvent;

/// <summary>A step's copy in the object tier is to be removed (the tier's retention); a step kept nowhere else is then deleted.</summary>
/// <param name="Step">The step.</param>
/// <param name="Reason">Why.</param>
/// <param name="Time">When.</param>
internal sealed record UploadDeleted(
    [property: JsonPropertyName("step")] long Step,
    [property: JsonPropertyName("reason")] string Reason,
    [property: JsonPropertyName("time")] DateTimeOffset Time) : ICatalogEvent;

/// <summary>
/// A planner opened the catalog from a root that marks how far it has seen the catalog's journal
/// (<see cref="SharedCatalogCheck"/>): recorded only for a catalog kept outside its root, which a
/// copy of the root would share. A catalog with none was never opened so (a new one, or an older build's).
/// </summary>
/// <param name="Root">The root's path as the planner saw it, for the error that names it.</param>
/// <param name="Time">When.</param>
internal sealed record CatalogOpened(
    [property: JsonPropertyName("root")] string Root,
    [property: JsonPropertyName("time")] DateTimeOffset Time) : ICatalogRecord;

/// <summary>The whole catalog at one point of the journal.</summary>
/// <param name="Entries">Every step's entry.</param>
/// <param name="Opened">The last opening recorded (<see cref="CatalogOpened"/>); left out of the journal when there was none, so such a snapshot reads as before.</param>
internal sealed record CatalogSnapshot(
    [property: JsonPropertyName("entries")] IReadOnlyList<CatalogEntry> Entries,
    [property: JsonPropertyName("opened"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] CatalogOpened? Opened = null) : ICatalogRecord;
