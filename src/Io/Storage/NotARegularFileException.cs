namespace ActorCkpt;

/// <summary>
/// A file the checkpoint code would read is a FIFO, a device, a socket, a directory or a link
/// where a regular file must be: refused before it is opened (a FIFO would block the read forever).
/// An <see cref="IOException"/>, so code that leaves unreadable steps alone leaves these alone too;
/// permanent (<see cref="StorageErrors.IsPermanent"/>): no retry makes it a file.
/// </summary>
internal sealed class NotARegularFileException(string path, FileKind kind)
    : IOException($"'{path}' is {Describe(kind)}, not a regular file")
{
    /// <summary>The path refused.</summary>
    public string Path { get; } = path;

    /// <summary>What it is.</summary>
    public FileKind Kind { get; } = kind;

    /// <summary>"a FIFO", "a symbolic link"…, for messages.</summary>
    public static string Describe(FileKind kind) => kind switch
    {
        FileKind.Regular => "a file",
        FileKind.Fifo => "a FIFO",
        FileKind.CharacterDevice => "a character device",
        FileKind.BlockDevice => "a block device",
        FileKind.Socket => "a socket",
        FileKind.Directory => "a directory",
        FileKind.SymbolicLink => "a symbolic link",
        FileKind.Missing => "missing",
        _ => "of an unknown file type",
    };
}
