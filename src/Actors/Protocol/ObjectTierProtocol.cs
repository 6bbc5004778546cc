namespace ActorCkpt;

/// <summary>The planner asks the object tier to upload a committed step; it holds a lease on the step until the answer.</summary>
/// <param name="Step">The step, committed on disk.</param>
/// <param name="SaveId">Its attempt.</param>
/// <param name="MetadataChecksum">The checksum the catalog recorded for its metadata.</param>
internal sealed record UploadStep(long Step, Guid SaveId, string MetadataChecksum) : IActorCkptMessage;

/// <summary>The step's copy is committed in the object tier.</summary>
/// <param name="Step">The step.</param>
/// <param name="SaveId">The attempt uploaded.</param>
/// <param name="Root">The object tier's root.</param>
/// <param name="MetadataChecksum">The copy's metadata checksum.</param>
/// <param name="Files">Data files.</param>
/// <param name="Bytes">Bytes of the data files.</param>
/// <param name="Elapsed">How long the upload took.</param>
/// <param name="AlreadyThere">The same copy was there already: nothing was uploaded.</param>
internal sealed record UploadStepSuccess(long Step, Guid SaveId, string Root, string MetadataChecksum, int Files, long Bytes, TimeSpan Elapsed, bool AlreadyThere)
    : IActorCkptMessage;

/// <summary>The step was not uploaded; it stays on the local tiers only.</summary>
/// <param name="Step">The step.</param>
/// <param name="SaveId">The attempt.</param>
/// <param name="Cause">Why, in one line.</param>
internal sealed record UploadStepFailure(long Step, Guid SaveId, string Cause) : IActorCkptMessage;

/// <summary>
/// The planner, once started, asks which committed steps the object tier holds that its catalog does
/// not record; the uploader then removes what killed copies left of steps it can never send again.
/// </summary>
/// <param name="Known">Steps the catalog records as uploaded.</param>
/// <param name="MayUpload">Steps that may still be uploaded (due: the one on disk resumed, those in memory or in flight): an unfinished copy of one of these is left for its next upload to complete.</param>
internal sealed record FindUploads(long[] Known, long[]? MayUpload = null) : IActorCkptMessage;

/// <summary>The answer to <see cref="FindUploads"/>.</summary>
/// <param name="Root">The object tier's root.</param>
/// <param name="Found">The committed steps there not among the known ones.</param>
/// <param name="Problem">Why the root could not be listed, or null.</param>
internal sealed record UploadsFound(string Root, FoundUpload[] Found, string? Problem) : IActorCkptMessage;

/// <summary>A committed step found in the object tier.</summary>
/// <param name="Step">The step.</param>
/// <param name="MetadataChecksum">Its metadata's checksum.</param>
/// <param name="Files">Data files.</param>
/// <param name="Bytes">Bytes of the data files.</param>
internal sealed record FoundUpload(long Step, string MetadataChecksum, int Files, long Bytes);

/// <summary>Asks (the planner, which forwards it to the object tier) for an answer once no upload is under way or waiting.</summary>
internal sealed record AwaitUploads : IActorCkptMessage
{
    /// <summary>The one instance.</summary>
    public static AwaitUploads Instance { get; } = new();
}

/// <summary>The answer to <see cref="AwaitUploads"/>: every upload asked for so far has ended (uploaded, or given up and logged).</summary>
internal sealed record UploadsIdle : IActorCkptMessage
{
    /// <summary>The one instance.</summary>
    public static UploadsIdle Instance { get; } = new();
}

/// <summary>The planner journaled that a step's copy leaves the object tier (its retention): the uploader removes it there.</summary>
/// <param name="Step">The step.</param>
internal sealed record DeleteUpload(long Step) : IActorCkptMessage;
