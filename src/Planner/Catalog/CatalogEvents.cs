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
internal sealed record SaveStarted(
    [property: JsonPropertyName("step")] long Step,
    [property: JsonPropertyName("save_id")] Guid SaveId,
    [property: JsonPropertyName("world_size")] int WorldSize,
    [property: JsonPropertyName("directory")] string Directory,
    [property: JsonPropertyName("time")] DateTimeOffset Time) : ICatalogEvent;

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

/// <summary>The whole catalog at one point of the journal.</summary>
/// <param name="Entries">Every step's entry.</param>
internal sealed record CatalogSnapshot([property: JsonPropertyName("entries")] IReadOnlyList<CatalogEntry> Entries) : ICatalogRecord;
