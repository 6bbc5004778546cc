namespace ActorCkpt;

/// <summary>What a directory entry is, as lstat says (a link is not followed).</summary>
internal enum FileKind
{
    /// <summary>Nothing is there.</summary>
    Missing,

    /// <summary>A regular file: the only kind a checkpoint root's files are read from.</summary>
    Regular,

    /// <summary>A directory.</summary>
    Directory,

    /// <summary>A symbolic link.</summary>
    SymbolicLink,

    /// <summary>A FIFO (named pipe): opening one to read waits for a writer, so it is never opened.</summary>
    Fifo,

    /// <summary>A character device.</summary>
    CharacterDevice,

    /// <summary>A block device.</summary>
    BlockDevice,

    /// <summary>A Unix domain socket.</summary>
    Socket,

    /// <summary>A type this code does not know.</summary>
    Unknown,
}
