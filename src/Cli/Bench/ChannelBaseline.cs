using System.Diagnostics;

namespace ActorCkpt.Cli.Bench;

/// <summary>
/// The bench's copy through the bulk channel between two node processes, memory to memory: the
/// same bytes as <see cref="SocketBaseline"/>, pushed from a 4 MiB buffer filled before the clock
/// with everything the channel does (token, frames, checksums sent and checked, credit), into a
/// sink that keeps nothing. Beside the save's <c>transfer_gbps</c>, whose receivers also write
/// files, it tells the channel's own cost from the disk's.
/// </summary>
internal static class ChannelBaseline
{
    private const int BufferSize = 4 << 20;

    /// <summary>Expects one push of <paramref name="bytes"/> on <paramref name="server"/>; the token it is admitted with, and a task that ends once it was received whole.</summary>
    public static (TransferToken Token, Task Received) Receive(BulkServer server, long bytes, TimeSpan patience)
    {
        var token = TransferToken.New();
        return (token, server.ExpectPush(token, bytes, new DiscardSink(), patience));
    }

    /// <summary>Pushes <paramref name="bytes"/> to <paramref name="endpoint"/> with <paramref name="token"/>; seconds from the first byte sent to the receiver's acknowledgement.</summary>
    public static async Task<double> SendAsync(BulkClient client, string endpoint, TransferToken token, long bytes, TimeSpan patience)
    {
        var buffer = GC.AllocateUninitializedArray<byte>(BufferSize, pinned: true);
        Random.Shared.NextBytes(buffer);
        var probe = new BulkTransferProbe();
        using var giveUp = new CancellationTokenSource(patience);
        await client.PushAsync(endpoint, token, bytes, Pieces(buffer, bytes), probe, giveUp.Token);
        return Stopwatch.GetElapsedTime(probe.StartedAt, probe.EndedAt).TotalSeconds;
    }

    private static IEnumerable<ReadOnlyMemory<byte>> Pieces(byte[] buffer, long bytes)
    {
        for (long left = bytes; left > 0; left -= buffer.Length) yield return buffer.AsMemory(0, (int)Math.Min(buffer.Length, left));
    }

    /// <summary>Takes checked frames and keeps nothing.</summary>
    private sealed class DiscardSink : ITransferSink
    {
        public void Write(long position, ReadOnlySpan<byte> bytes)
        {
        }

        public void Complete()
        {
        }

        public void Abort(Exception cause)
        {
        }
    }
}
