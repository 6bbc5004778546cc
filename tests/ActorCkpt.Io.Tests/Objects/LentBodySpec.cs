using System.Buffers;

namespace ActorCkpt.Io.Tests;

/// <summary>
/// Request bodies over lent bytes (<see cref="LentBody"/>, <see cref="LentBytes"/>): read where the
/// bytes lie, rewound as the SDKs do, and never read once retired, even by a send still running.
/// </summary>
public class LentBodySpec
{
    private static readonly byte[] Data = Enumerable.Range(0, 1000).Select(i => (byte)(i * 7)).ToArray();

    private static ReadOnlySequence<byte> ThreePieces() =>
        LentBytes.Sequence([Data.AsMemory(0, 100), Data.AsMemory(100, 600), Data.AsMemory(700, 300)]);

    [Fact]
    public async Task A_body_should_read_its_pieces_in_order_and_again_after_a_rewind()
    {
        using var body = new LentBody(ThreePieces());
        Assert.Equal(1000, body.Length);
        var first = new byte[1000];
        body.ReadExactly(first.AsSpan(0, 250));
        body.ReadExactly(first.AsSpan(250));
        Assert.Equal(Data, first);
        Assert.Equal(0, body.Read(new byte[10]));

        body.Position = 0;
        using var copy = new MemoryStream();
        await body.CopyToAsync(copy);
        Assert.Equal(Data, copy.ToArray());
    }

    [Fact]
    public async Task Retiring_should_wait_for_a_send_in_progress_and_refuse_every_later_read()
    {
        var body = new LentBody(ThreePieces());
        var destination = new GatedStream();
        var send = body.CopyToAsync(destination);
        await destination.Entered.Task;

        var retired = body.RetireAsync();
        Assert.False(retired.IsCompleted);
        destination.Open.SetResult();
        await retired;

        // The send in progress ends its piece, then finds the body retired, as a read from it would.
        await Assert.ThrowsAsync<ObjectDisposedException>(() => send);
        Assert.Throws<ObjectDisposedException>(() => body.Read(new byte[10]));
        Assert.Equal(Data[..100], destination.Written.ToArray());
    }

    [Fact]
    public void Consecutive_pieces_of_one_buffer_should_join_and_others_should_not()
    {
        var other = new byte[1000];
        Assert.True(LentBytes.TryJoin(Data.AsMemory(0, 100), Data.AsMemory(100, 50), out var joined));
        Assert.True(joined.Span.SequenceEqual(Data.AsSpan(0, 150)));
        Assert.False(LentBytes.TryJoin(Data.AsMemory(0, 100), Data.AsMemory(101, 50), out _));
        Assert.False(LentBytes.TryJoin(Data.AsMemory(0, 100), other.AsMemory(100, 50), out _));

        var native = new NativeBytes(Data);
        var otherNative = new NativeBytes(Data);
        Assert.True(LentBytes.TryJoin(native.Memory[..100], native.Memory.Slice(100, 50), out var nativeJoined));
        Assert.True(nativeJoined.Span.SequenceEqual(Data.AsSpan(0, 150)));
        Assert.False(LentBytes.TryJoin(native.Memory[..100], otherNative.Memory.Slice(100, 50), out _));
        Assert.False(LentBytes.TryJoin(native.Memory[..100], Data.AsMemory(100, 50), out _));
    }

    /// <summary>A destination whose first write waits until the spec opens it.</summary>
    private sealed class GatedStream : Stream
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Open { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public MemoryStream Written { get; } = new();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Entered.TrySetResult();
            await Open.Task;
            Written.Write(buffer.Span);
        }

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    }

    /// <summary>Bytes behind a memory manager that does not expose its array, as a staged buffer's native memory is.</summary>
    private sealed class NativeBytes(byte[] bytes) : MemoryManager<byte>
    {
        private readonly byte[] _bytes = bytes.ToArray();

        public override Span<byte> GetSpan() => _bytes;

        public override MemoryHandle Pin(int elementIndex = 0) => throw new NotSupportedException();

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}
