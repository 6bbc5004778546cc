using System.Buffers;

namespace ActorCkpt;

/// <summary>
/// One container (an Azure Blob container or an S3 bucket) of an object store, addressed by object
/// keys with '/' separators. Each call is one request (or the few one operation needs) with no
/// retry of its own: the SDK's retries are off, and the object store above it retries what
/// <see cref="ObjectStoreException.Kind"/> says may succeed later. Failures are thrown as
/// <see cref="ObjectStoreException"/>, classified; a missing object where one is read is
/// <see cref="ObjectErrorKind.NotFound"/>. Safe for concurrent use.
/// </summary>
internal interface IObjectClient : IDisposable
{
    /// <summary>The container as a URI (<c>az://container</c>, <c>s3://bucket</c>) and its endpoint, for messages.</summary>
    string Describe { get; }

    /// <summary>
    /// True when the service refuses a create-only write of an existing key (If-None-Match: *);
    /// false when it ignores the condition (s3rver), so callers look before they write.
    /// </summary>
    bool HonoursCreateOnly { get; }

    /// <summary>
    /// Checks that the container exists and the credentials may use it; creates it when missing
    /// and <paramref name="create"/>. A missing container otherwise is <see cref="ObjectErrorKind.ContainerMissing"/>,
    /// refused credentials <see cref="ObjectErrorKind.Unauthorized"/>.
    /// </summary>
    Task EnsureContainerAsync(bool create, CancellationToken cancel);

    /// <summary>The object's length, or null when there is none.</summary>
    Task<long?> LengthAsync(string key, CancellationToken cancel);

    /// <summary>
    /// Writes a whole object in one request, its MD5 sent for the service to check. With
    /// <paramref name="createOnly"/>, an existing object is left as it is and the call throws
    /// <see cref="ObjectErrorKind.AlreadyExists"/> (where <see cref="HonoursCreateOnly"/>).
    /// </summary>
    Task PutAsync(string key, ReadOnlyMemory<byte> data, bool createOnly, CancellationToken cancel);

    /// <summary>Starts a multipart (S3) or block (Azure) upload of <paramref name="key"/>; returns its id.</summary>
    Task<string> StartUploadAsync(string key, CancellationToken cancel);

    /// <summary>
    /// Uploads part <paramref name="part"/> (1-based; every part but the last is the same size, at
    /// least 5 MiB) of an upload, its checksum sent for the service to check; returns the part's tag for
    /// <see cref="CompleteUploadAsync"/>. Uploading a part again replaces it. The bytes are read where
    /// they lie (pieces of the staged buffers) and never after the call completes.
    /// </summary>
    Task<string> UploadPartAsync(string key, string uploadId, int part, ReadOnlySequence<byte> data, CancellationToken cancel);

    /// <summary>
    /// Makes the object the concatenation of <paramref name="partTags"/> (parts 1..n in order); only
    /// now does it appear. <paramref name="createOnly"/> as for <see cref="PutAsync"/>.
    /// </summary>
    Task CompleteUploadAsync(string key, string uploadId, IReadOnlyList<string> partTags, bool createOnly, CancellationToken cancel);

    /// <summary>
    /// Drops an upload that will not complete, with every part uploaded for it, so that nothing is
    /// left billed or listed; a committed object of the same key is left as it is. Done when the
    /// upload is already gone.
    /// </summary>
    Task AbortUploadAsync(string key, string uploadId, CancellationToken cancel);

    /// <summary>Uploads begun under <paramref name="prefix"/> and neither completed nor aborted (a killed process's), as (key, upload id).</summary>
    Task<IReadOnlyList<(string Key, string UploadId)>> ListUploadsAsync(string prefix, CancellationToken cancel);

    /// <summary>Fills <paramref name="into"/> from byte <paramref name="offset"/> of the object with one ranged GET; throws when the object ends first.</summary>
    Task ReadAsync(string key, long offset, Memory<byte> into, CancellationToken cancel);

    /// <summary>Every key under <paramref name="prefix"/> (all depths), in ordinal order.</summary>
    Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancel);

    /// <summary>The names directly under <paramref name="prefix"/> (which ends with '/' or is "") that have keys below them: the "directories" of a '/'-delimited listing.</summary>
    Task<IReadOnlyList<string>> ListDirectoriesAsync(string prefix, CancellationToken cancel);

    /// <summary>Copies an object inside the container on the service's side; <paramref name="createOnly"/> as for <see cref="PutAsync"/>.</summary>
    Task CopyAsync(string from, string to, bool createOnly, CancellationToken cancel);

    /// <summary>Deletes an object; done when there is none.</summary>
    Task DeleteAsync(string key, CancellationToken cancel);

    /// <summary>
    /// The bench's baseline: uploads <paramref name="data"/> as object <paramref name="key"/> with the
    /// SDK's own transfer helper (Azure's <c>BlobClient.UploadAsync</c> with transfer options, S3's
    /// <c>TransferUtility</c>), in parts of <paramref name="partSize"/>, <paramref name="parallelism"/> at once.
    /// </summary>
    Task SdkUploadAsync(string key, Stream data, int partSize, int parallelism, CancellationToken cancel);

    /// <summary>The bench's baseline: downloads object <paramref name="key"/> into <paramref name="into"/> with the SDK's own transfer helper.</summary>
    Task SdkDownloadAsync(string key, Stream into, int partSize, int parallelism, CancellationToken cancel);
}
