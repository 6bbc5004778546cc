using System.Buffers;
using System.Runtime.InteropServices;

namespace ActorCkpt;

/// <summary>
/// Pieces of memory lent by a writer, laid end to end as one request body: a part of an upload sent
/// from the staged buffers themselves rather than from a copy of them.
/// </summary>
internal static class LentBytes
{
    /// <summary>
    /// Joins <paramref name="first"/> and <paramref name="second"/> into one piece when the second
    /// begins where the first ends in the same array or the same memory manager (consecutive pieces
    /// of one staged buffer), so that a part is a few pieces rather than one per write.
    /// </summary>
    public static bool TryJoin(ReadOnlyMemory<byte> first, ReadOnlyMemory<byte> second, out ReadOnlyMemory<byte> joined)
    {
        if (MemoryMarshal.TryGetArray(first, out var a) && MemoryMarshal.TryGetArray(second, out var b))
        {
            if (ReferenceEquals(a.Array, b.Array) && a.Offset + a.Count == b.Offset)
            {
                joined = new ReadOnlyMemory<byte>(a.Array, a.Offset, a.Count + b.Count);
                return true;
            }
        }
        else if (MemoryMarshal.TryGetMemoryManager<byte, MemoryManager<byte>>(first, out var m, out var start, out var length)
                 && MemoryMarshal.TryGetMemoryManager<byte, MemoryManager<byte>>(second, out var n, out var nextStart, out var nextLength)
                 && ReferenceEquals(m, n) && start + length == nextStart)
        {
            joined = m.Memory.Slice(start, length + nextLength);
            return true;
        }
        joined = default;
        return false;
    }

    /// <summary>The pieces, in order, as one sequence (empty for none).</summary>
    public static ReadOnlySequence<byte> Sequence(IReadOnlyList<ReadOnlyMemory<byte>> pieces)
    {
        if (pieces.Count == 0) return ReadOnlySequence<byte>.Empty;
        if (pieces.Count == 1) return new ReadOnlySequence<byte>(pieces[0]);
        var first = new Segment(pieces[0], 0);
        var last = first;
        for (var i = 1; i < pieces.Count; i++) last = last.Then(pieces[i]);
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Then(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
