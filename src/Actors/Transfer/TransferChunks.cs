using System.IO.Hashing;

namespace ActorCkpt;

/// <summary>Cuts bytes into <see cref="TransferChunk"/>s for another node: a staged file for a remote writer, a stored range for a remote reader.</summary>
internal static class TransferChunks
{
    /// <summary>
    /// The chunks of <paramref name="file"/>'s items, in order, at most <paramref name="chunkSize"/>
    /// bytes each, copied from <paramref name="staged"/> as the stream asks for them.
    /// </summary>
    public static IEnumerable<TransferChunk> Of(StagedState staged, FileWritePlan file, int chunkSize)
    {
        for (var i = 0; i < file.Items.Count; i++)
        {
            // A stream asked for while the state is still being copied waits for each item.
            staged.Progress.WaitFor(file.Items[i].Index);
            var bytes = staged.BytesOf(file.Items[i]);
            var offset = 0;
            do
            {
                var piece = bytes.Span.Slice(offset, Math.Min(chunkSize, bytes.Length - offset)).ToArray();
                yield return new TransferChunk(i, offset, piece, XxHash3.HashToUInt64(piece));
                offset += piece.Length;
            }
            while (offset < bytes.Length);
        }
    }

    /// <summary>
    /// The chunks of the <paramref name="length"/> bytes at <paramref name="offset"/> of
    /// <paramref name="reader"/>'s file, in order, at most <paramref name="chunkSize"/> bytes each,
    /// read as the stream asks for them.
    /// </summary>
    public static IEnumerable<TransferChunk> Of(IBlobReader reader, long offset, long length, int chunkSize)
    {
        long done = 0;
        do
        {
            var piece = new byte[Math.Min(chunkSize, length - done)];
            reader.ReadExactly(piece, offset + done);
            yield return new TransferChunk(0, done, piece, XxHash3.HashToUInt64(piece));
            done += piece.Length;
        }
        while (done < length);
    }

    /// <summary>True when <paramref name="chunk"/>'s bytes match the checksum it carries.</summary>
    public static bool IsIntact(TransferChunk chunk) => XxHash3.HashToUInt64(chunk.Bytes) == chunk.Checksum;
}
