using System.Buffers;

namespace ActorCkpt;

/// <summary>
/// Reads into a caller's memory through a pooled buffer, at most <see cref="CopiedWrites.BufferBytes"/>
/// a call, copying each piece on: the reads' side of <see cref="CopiedWrites"/> (on these machines a
/// read straight into a tensor ran 12 times slower than through a reused buffer).
/// </summary>
internal static class CopiedReads
{
    /// <summary>Fills <paramref name="into"/> with the bytes of <paramref name="reader"/> from <paramref name="offset"/> on, a pooled buffer at a time.</summary>
    public static void ReadExactly(IBlobReader reader, Span<byte> into, long offset)
    {
        if (into.IsEmpty) return;
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(CopiedWrites.BufferBytes, into.Length));
        try
        {
            for (var at = 0; at < into.Length; at += buffer.Length)
            {
                var piece = buffer.AsSpan(0, Math.Min(buffer.Length, into.Length - at));
                reader.ReadExactly(piece, offset + at);
                piece.CopyTo(into[at..]);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
