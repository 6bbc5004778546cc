
namespace ActorCkpt;

/// <summary>Bytes read from a data file do not match their recorded checksum: the checkpoint is corrupt there.</summary>
public sealed class ChecksumMismatchException(string file, string key, int block, long offset)
    : ActorCkptException($"checksum mismatch in '{file}' for '{key}' (block {block}, at byte {offset})")
{
    /// <summary>The data file.</summary>
    public string File { get; } = file;

    /// <summary>The tensor or entry key.</summary>
    public string Key { get; } = key;

    /// <summary>The checksum block of the item that did not match.</summary>
    public int Block { get; } = block;
}
