using System.Buffers;

namespace ActorCkpt;

/// <summary>Copies a file's bytes from a reader to a writer in runs through one pooled buffer: the loop behind publishing, downloading and uploading whole files.</summary>
internal static class BlobCopy
{
    /// <summary>
    /// Copies the first <paramref name="length"/> bytes of <paramref name="from"/> to the same offsets
    /// of <paramref name="to"/>, at most <paramref name="runBytes"/> at a time; the writer is not
    /// flushed. <paramref name="cancellation"/> is checked before every run.
    /// </summary>
    public static void Copy(IBlobReader from, IBlobWriter to, long length, int runBytes, CancellationToken cancellation = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(runBytes, 1);
        if (length == 0) return;
        var run = (int)Math.Min(runBytes, length);
        var buffer = ArrayPool<byte>.Shared.Rent(run);
        try
        {
            for (long at = 0; at < length;)
            {
                cancellation.ThrowIfCancellationRequested();
                var piece = buffer.AsSpan(0, (int)Math.Min(run, length - at));
                from.ReadExactly(piece, at);
                to.Write(piece, at);
                at += piece.Length;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
