using System.Buffers.Binary;
using System.IO.Hashing;

namespace ChannelBench;

/// <summary>
/// The receiving half of the frame protocol (see <see cref="FrameHeader"/>) as a push parser: bytes
/// arrive in chunks of any size and split anywhere, the payload of each frame is copied straight into
/// the destination buffer and its XxHash3 checked once the frame is whole. Used by the candidates that
/// read a byte stream (Pipelines, Akka.Streams TCP); the state lives here so each candidate only feeds it.
/// </summary>
public sealed class FrameAssembler
{
    private readonly Memory<byte> _dest;
    private readonly byte[] _header = new byte[FrameHeader.Size];
    private int _headerFill;
    private int _payloadLeft;   // bytes of the current frame's payload still to come; 0 = reading a header
    private int _frameStart;
    private ulong _frameHash;
    private long _offset;
    private int _frames;

    /// <summary>Creates a parser that writes every transfer from offset 0 of <paramref name="dest"/>.</summary>
    public FrameAssembler(Memory<byte> dest) => _dest = dest;

    /// <summary>Called once per transfer, when its end frame arrived and every frame checked.</summary>
    public event Action<TransferOutcome>? TransferEnded;

    /// <summary>Consumes one chunk of the stream.</summary>
    public void Feed(ReadOnlySpan<byte> chunk)
    {
        while (!chunk.IsEmpty)
        {
            if (_payloadLeft == 0)
            {
                var n = Math.Min(FrameHeader.Size - _headerFill, chunk.Length);
                chunk[..n].CopyTo(_header.AsSpan(_headerFill));
                _headerFill += n;
                chunk = chunk[n..];
                if (_headerFill < FrameHeader.Size) return;
                _headerFill = 0;
                OnHeader();
            }
            else
            {
                var n = Math.Min(_payloadLeft, chunk.Length);
                chunk[..n].CopyTo(_dest.Span.Slice((int)_offset, n));
                _offset += n;
                _payloadLeft -= n;
                chunk = chunk[n..];
                if (_payloadLeft == 0) OnPayloadComplete();
            }
        }
    }

    private void OnHeader()
    {
        var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(_header);
        var flags = BinaryPrimitives.ReadUInt32LittleEndian(_header.AsSpan(4));
        var word = BinaryPrimitives.ReadUInt64LittleEndian(_header.AsSpan(8));
        if ((flags & FrameHeader.End) != 0)
        {
            var expected = (long)word;
            var outcome = expected == _offset
                ? new TransferOutcome(_offset, _frames, null)
                : new TransferOutcome(_offset, _frames, $"sender says {expected} bytes, {_offset} arrived");
            _offset = 0;
            _frames = 0;
            TransferEnded?.Invoke(outcome);
            return;
        }
        if (length <= 0 || _offset + length > _dest.Length)
            throw new InvalidDataException($"frame of {length} bytes at offset {_offset} does not fit the {_dest.Length}-byte buffer");
        _payloadLeft = length;
        _frameStart = (int)_offset;
        _frameHash = word;
    }

    private void OnPayloadComplete()
    {
        var length = (int)(_offset - _frameStart);
        var actual = XxHash3.HashToUInt64(_dest.Span.Slice(_frameStart, length));
        if (actual != _frameHash)
            throw new InvalidDataException($"frame {_frames} at offset {_frameStart}: XxHash3 {actual:x16}, header says {_frameHash:x16}");
        _frames++;
    }
}

/// <summary>What the receiver saw of one transfer: bytes, frames, and the reason it failed (null when it did not).</summary>
public sealed record TransferOutcome(long Bytes, int Frames, string? Error);
