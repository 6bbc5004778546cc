namespace ActorCkpt;

/// <summary>
/// Byte storage under one root, addressed by relative paths with '/' separators. The checkpoint
/// code calls it in this order for a save: <see cref="CreateDirectory"/>, <see cref="Create"/> per
/// data file (write, then <see cref="IBlobWriter.Flush"/>), <see cref="SyncDirectory"/>, then the
/// metadata under a temporary name and <see cref="Rename"/>, which must be atomic and durable.
/// Safe for concurrent use.
/// </summary>
internal interface IBlobStore
{
    /// <summary>Where the store lives, for messages.</summary>
    string Root { get; }

    /// <summary>Creates (or truncates) a file; its directory must exist.</summary>
    IBlobWriter Create(string path);

    /// <summary>
    /// Opens an existing file for positional reads. Anything but a regular file (a FIFO, a device,
    /// a socket, a link) is refused at once with <see cref="NotARegularFileException"/>, never waited on.
    /// </summary>
    IBlobReader OpenRead(string path);

    /// <summary>True when the file exists (of whatever kind: see <see cref="IsRegularFile"/>).</summary>
    bool Exists(string path);

    /// <summary>True when <paramref name="path"/> is a regular file, not a FIFO, device, socket, directory or link; looks without opening it.</summary>
    bool IsRegularFile(string path);

    /// <summary>
    /// Atomically renames <paramref name="from"/> to <paramref name="to"/> and makes the rename
    /// durable. Without <paramref name="overwrite"/>, an existing <paramref name="to"/> makes it throw
    /// <see cref="IOException"/> and nothing changes.
    /// </summary>
    void Rename(string from, string to, bool overwrite);

    /// <summary>Makes the entries of directory <paramref name="path"/> (files created, renamed, removed in it) durable.</summary>
    void SyncDirectory(string path);

    /// <summary>Creates a directory and its parents (durably).</summary>
    void CreateDirectory(string path);

    /// <summary>Deletes a file; nothing happens when it does not exist.</summary>
    void DeleteFile(string path);

    /// <summary>Deletes a directory and everything in it; nothing happens when it does not exist.</summary>
    void DeleteDirectory(string path);

    /// <summary>Names of the directories directly under <paramref name="path"/> ("" is the root).</summary>
    IReadOnlyList<string> ListDirectories(string path);

    /// <summary>
    /// Takes an exclusive lock on file <paramref name="path"/> (created when missing), held until the
    /// result is disposed or the process ends, however it ends. Throws <see cref="IOException"/> at
    /// once when another holder, in this process or another, has it.
    /// </summary>
    IDisposable Lock(string path);
}
