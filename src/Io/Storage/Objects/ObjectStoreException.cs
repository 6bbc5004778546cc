namespace ActorCkpt;

/// <summary>
/// An object store refused or failed a request. The message is one line naming the container,
/// the key and what the service said; <see cref="Kind"/> says whether a retry may cure it.
/// An <see cref="IOException"/>, so callers that handle storage failures handle these too.
/// </summary>
public sealed class ObjectStoreException : IOException
{
    internal ObjectStoreException(ObjectErrorKind kind, string message, TimeSpan? retryAfter = null, Exception? inner = null)
        : base(message, inner)
    {
        Kind = kind;
        RetryAfter = retryAfter;
    }

    /// <summary>What the failure means: retry, wait, or stop.</summary>
    internal ObjectErrorKind Kind { get; }

    /// <summary>The wait a throttling answer named (Retry-After), when it named one.</summary>
    internal TimeSpan? RetryAfter { get; }

    /// <summary>True when the same request may succeed later.</summary>
    internal bool IsRetryable => Kind is ObjectErrorKind.Transient or ObjectErrorKind.Throttled or ObjectErrorKind.ChecksumRefused;
}
