namespace ActorCkpt;

/// <summary>
/// Puts a byte range back together from the chunks a reader streams (item 0, offsets from the
/// range's start): each chunk must be intact and come in order within the range, and the range
/// must arrive whole.
/// </summary>
/// <param name="node">The node the range comes from, for messages.</param>
/// <param name="file">The data file, for messages.</param>
/// <param name="into">Where the range goes: as many bytes as it has.</param>
internal sealed class ChunkAssembler(string node, string file, Memory<byte> into)
{
    private readonly long _length = into.Length;
    private long _received;

    /// <summary>Copies <paramref name="chunk"/> into place; throws when it is corrupted, out of order, or past the range's end.</summary>
    public void Add(TransferChunk chunk)
    {
        if (!TransferChunks.IsIntact(chunk) || chunk.Offset != _received || _received + chunk.Bytes.Length > _length)
            throw new ActorCkptException($"chunk of '{file}' at {chunk.Offset} from {node} arrived corrupted or out of order");
        chunk.Bytes.CopyTo(into.Span[(int)chunk.Offset..]);
        _received += chunk.Bytes.Length;
    }

    /// <summary>Once the stream ended: throws when bytes are missing.</summary>
    public void Complete()
    {
        if (_received != _length) throw new ActorCkptException($"'{file}' from {node}: {_received} of {_length} bytes arrived");
    }
}
