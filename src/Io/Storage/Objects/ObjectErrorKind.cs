namespace ActorCkpt;

/// <summary>What an object store's refusal means for the caller: whether to retry, wait, or stop.</summary>
internal enum ObjectErrorKind
{
    /// <summary>A timeout, a dropped connection, a 500: retried with backoff.</summary>
    Transient,

    /// <summary>The service asks to slow down (503 SlowDown, 429, Azure's ServerBusy): retried after the wait it names, or a longer backoff.</summary>
    Throttled,

    /// <summary>The object (or upload) is not there.</summary>
    NotFound,

    /// <summary>A create-only write found the key taken.</summary>
    AlreadyExists,

    /// <summary>The container or bucket does not exist.</summary>
    ContainerMissing,

    /// <summary>The credentials were refused (403, a bad key or signature).</summary>
    Unauthorized,

    /// <summary>The service refused the bytes' checksum (BadDigest, Md5Mismatch): the part is sent again.</summary>
    ChecksumRefused,

    /// <summary>Anything else a retry will not cure.</summary>
    Permanent,
}
