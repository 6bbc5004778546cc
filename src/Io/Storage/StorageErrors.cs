namespace ActorCkpt;

/// <summary>Which storage failures a retry cannot cure.</summary>
internal static class StorageErrors
{
    // errno values .NET puts in IOException.HResult on Unix.
    private const int Eacces = 13;
    private const int Enospc = 28;
    private const int Erofs = 30;
    private const int Edquot = 122;

    /// <summary>
    /// True for a full disk or quota (ENOSPC, EDQUOT), read-only storage (EROFS) and denied access
    /// (EACCES), and a file that is not a regular one (<see cref="NotARegularFileException"/>):
    /// retrying only wastes the backoff, so the operation fails at once with that cause. Looks
    /// through wrapping exceptions.
    /// </summary>
    public static bool IsPermanent(Exception error)
    {
        for (var e = error; e is not null; e = e.InnerException)
            if (e is UnauthorizedAccessException or NotARegularFileException || (e is IOException && e.HResult is Eacces or Enospc or Erofs or Edquot))
                return true;
        return false;
    }

    /// <summary>
    /// True when <paramref name="error"/> says the storage did not answer (an object store that failed
    /// the request itself: a timeout or 500 after its retries, throttling, refused credentials, the
    /// container gone), not that a file is bad or absent. Readers that report bad files pass these on
    /// as the one error they are: a store that is down is not a damaged checkpoint.
    /// </summary>
    public static bool IsUnanswered(Exception error) => error is ObjectStoreException { Kind: not ObjectErrorKind.NotFound };

    /// <summary>True when <paramref name="error"/> says the storage may not be written: read-only (EROFS) or forbidden (EACCES).</summary>
    public static bool IsReadOnly(Exception error) =>
        error is UnauthorizedAccessException || (error is IOException && error.HResult is Eacces or Erofs);

    /// <summary>True when <paramref name="error"/> says the storage is full: ENOSPC, or a quota (EDQUOT).</summary>
    public static bool IsDiskFull(Exception error) => error is IOException && error.HResult is Enospc or Edquot;

    /// <summary>The error a read-only file system gives (EROFS), for fault injection.</summary>
    public static IOException ReadOnly(string path) => new($"Read-only file system : '{path}'", Erofs);

    /// <summary>The error a full disk gives (ENOSPC), for fault injection.</summary>
    public static IOException DiskFull(string path) => new($"No space left on device : '{path}'", Enospc);

    /// <summary>The error read-only or forbidden storage gives, for fault injection.</summary>
    public static UnauthorizedAccessException AccessDenied(string path) => new($"Access to the path '{path}' is denied.");
}
