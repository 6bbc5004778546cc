using System.Net.Sockets;

namespace ActorCkpt.Io.Tests;

/// <summary>The bulk channel between two nodes (both ends in this process, over loopback).</summary>
public sealed class BulkChannelSpec : IAsyncLifetime
{
    private static readonly TimeSpan Ttl = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(1);
    private static readonly BulkChannelSettings Small = BulkChannelSettings.Default with { FrameSize = 64 << 10, Window = 256 << 10 };
    private readonly List<IAsyncDisposable> _open = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var d in _open) await d.DisposeAsync();
    }

    private (BulkServer Server, BulkClient Client) Pair(BulkChannelSettings? settings = null, BulkChannelSettings? clientSettings = null)
    {
        var server = BulkServer.Start(settings ?? Small);
        var client = new BulkClient(clientSettings ?? settings ?? Small);
        _open.Add(client);
        _open.Add(server);
        return (server, client);
    }

    private static byte[] Bytes(int n, int seed)
    {
        var b = new byte[n];
        new Random(seed).NextBytes(b);
        return b;
    }

    /// <summary>Pushes <paramref name="pieces"/> (<paramref name="bytes"/>, cut some way) from <paramref name="client"/> to <paramref name="server"/>; the sink that received them, once the server says the push is done.</summary>
    private static async Task<MemorySink> PushWholeAsync(BulkServer server, BulkClient client, byte[] bytes, IEnumerable<ReadOnlyMemory<byte>>? pieces = null)
    {
        var sink = new MemorySink();
        var token = TransferToken.New();
        var received = server.ExpectPush(token, bytes.Length, sink, Ttl);
        await client.PushAsync(server.Endpoint, token, bytes.Length, pieces ?? Pieces(bytes));
        await received;
        return sink;
    }

    /// <summary>Pieces of an odd size, so frames straddle them.</summary>
    private static IEnumerable<ReadOnlyMemory<byte>> Pieces(byte[] bytes, int piece = 10_007)
    {
        for (var at = 0; at < bytes.Length; at += piece) yield return bytes.AsMemory(at, Math.Min(piece, bytes.Length - at));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData((64 << 10) - 1)]
    [InlineData(64 << 10)]
    [InlineData((64 << 10) + 1)]
    [InlineData(3 * (256 << 10) + 7)]
    public async Task A_push_should_arrive_whole_and_in_order_at_any_size(int size)
    {
        var (server, client) = Pair();
        var bytes = Bytes(size, size);

        var sink = await PushWholeAsync(server, client, bytes);

        Assert.Equal(bytes, sink.Bytes);
        Assert.True(sink.Completed);
        Assert.Null(sink.Aborted);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData((64 << 10) - 1)]
    [InlineData((64 << 10) + 1)]
    [InlineData(5 * (64 << 10))]
    public async Task A_fetch_should_land_in_the_destination_whole_at_any_size(int size)
    {
        var (server, client) = Pair();
        var bytes = Bytes(size, size + 1);
        var source = new MemorySource(bytes);
        var token = TransferToken.New();
        server.OfferFetch(token, source, Ttl);

        var destination = new byte[size];
        await client.FetchAsync(server.Endpoint, token, destination);

        Assert.Equal(bytes, destination);
        // The server closes the source once it has heard the fetch is done, after the client returned.
        await source.Disposed.WaitAsync(Patience);
    }

    [Fact]
    public async Task A_fetch_should_report_every_frame_it_checked_with_the_hash_of_its_bytes()
    {
        var (server, client) = Pair();
        var frame = Small.FrameSize;
        var bytes = Bytes(2 * frame + 100, 7);
        var token = TransferToken.New();
        server.OfferFetch(token, new MemorySource(bytes), Ttl);

        var frames = new List<CheckedFrame>();
        await client.FetchAsync(server.Endpoint, token, new byte[bytes.Length], frames: frames);

        var expected = new[] { (0L, frame), ((long)frame, frame), (2L * frame, 100) }
            .Select(p => new CheckedFrame(p.Item1, p.Item2, System.IO.Hashing.XxHash3.HashToUInt64(bytes.AsSpan((int)p.Item1, p.Item2)))).ToArray();
        Assert.Equal(expected, frames);
    }

    [Theory]
    [InlineData(16 << 10, 16 << 10)]
    [InlineData(1 << 20, 64 << 10)]
    [InlineData(0, 64 << 10)]
    public async Task A_fetch_should_be_cut_into_the_frames_its_source_asks_for_never_larger_than_the_channels(int asked, int cut)
    {
        var (server, client) = Pair();
        var bytes = Bytes(5 * (16 << 10) + 7, 3);
        var token = TransferToken.New();
        server.OfferFetch(token, new MemorySource(bytes) { FrameSize = asked }, Ttl);

        var frames = new List<CheckedFrame>();
        var destination = new byte[bytes.Length];
        await client.FetchAsync(server.Endpoint, token, destination, frames: frames);

        Assert.Equal(bytes, destination);
        Assert.All(frames.SkipLast(1), f => Assert.Equal(cut, f.Length));
        Assert.Equal(bytes.Length, frames.Sum(f => f.Length));
    }

    [Fact]
    public async Task Ranges_of_stored_files_fetched_together_should_arrive_in_order_in_frames_that_never_mix_two_ranges()
    {
        using var dir = new TempDirectory();
        var (one, two) = (Bytes(90_000, 1), Bytes(300, 2));
        File.WriteAllBytes(Path.Combine(dir.Path, "one"), one);
        File.WriteAllBytes(Path.Combine(dir.Path, "two"), two);
        var store = new LocalBlobStore(dir.Path);
        var (readOne, readTwo) = (new ClosingReader(store.OpenRead("one")), new ClosingReader(store.OpenRead("two")));
        // 70,000 bytes in 16 KiB frames, nothing, 100 bytes in the channel's frames, then one byte.
        var source = new BlobRangesSource([readOne, readTwo],
            [(readOne, 10, 70_000, 16 << 10), (readTwo, 0, 0, 0), (readTwo, 5, 100, 0), (readOne, 0, 1, 16 << 10)]);
        var (server, client) = Pair();
        var token = TransferToken.New();
        server.OfferFetch(token, source, Ttl);

        var destination = new byte[source.Length];
        var frames = new List<CheckedFrame>();
        await client.FetchAsync(server.Endpoint, token, destination, frames: frames);

        Assert.Equal(one[10..70_010].Concat(two[5..105]).Concat(one[..1]), destination);
        Assert.Equal([16384, 16384, 16384, 16384, 4464, 100, 1], frames.Select(f => f.Length));
        Assert.Equal(frames.Select(f => f.Position), frames.Select(f => f.Position).Order());
        // Both files closed with the source once the fetch is done.
        await Task.WhenAll(readOne.Closed, readTwo.Closed).WaitAsync(Patience);
    }

    /// <summary>A file that says when it was closed.</summary>
    private sealed class ClosingReader(IBlobReader inner) : IBlobReader
    {
        private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public Task Closed => _closed.Task;
        public long Length => inner.Length;
        public void ReadExactly(Span<byte> buffer, long offset) => inner.ReadExactly(buffer, offset);

        public void Dispose()
        {
            inner.Dispose();
            _closed.TrySetResult();
        }
    }

    [Fact]
    public async Task A_transfer_past_2_GiB_should_arrive_whole()
    {
        // Positions past int.MaxValue, with bytes made as they are sent and checked as they arrive.
        const long size = (5L << 29) + 12_345; // 2.5 GiB and a bit
        var (server, client) = Pair(BulkChannelSettings.Default);
        var sink = new PatternSink();
        var token = TransferToken.New();
        var received = server.ExpectPush(token, size, sink, Ttl);

        await client.PushAsync(server.Endpoint, token, size, PatternPieces(size));
        await received;

        Assert.Equal(size, sink.Received);
        Assert.Null(sink.Mismatch);
        Assert.True(sink.Completed);
    }

    private static IEnumerable<ReadOnlyMemory<byte>> PatternPieces(long size)
    {
        var buffer = new byte[4 << 20];
        for (long at = 0; at < size; at += buffer.Length)
        {
            var n = (int)Math.Min(buffer.Length, size - at);
            PatternSink.Fill(buffer.AsSpan(0, n), at);
            yield return buffer.AsMemory(0, n);
        }
    }

    [Fact]
    public async Task A_window_of_one_frame_should_carry_small_and_large_pieces_alike()
    {
        // Credit after every frame: a small piece in flight must not keep the next full frame waiting.
        var settings = Small with { Window = Small.FrameSize };
        var (server, client) = Pair(settings);
        var bytes = Bytes(100 + 3 * Small.FrameSize, 17);

        var sink = await PushWholeAsync(server, client, bytes, new[] { bytes.AsMemory(0, 100), bytes.AsMemory(100) }.Select(m => (ReadOnlyMemory<byte>)m));

        Assert.Equal(bytes, sink.Bytes);
    }

    [Fact]
    public async Task Connections_should_be_reused_across_transfers()
    {
        var (server, client) = Pair();
        for (var i = 0; i < 3; i++)
        {
            var bytes = Bytes(100_000, i);
            Assert.Equal(bytes, (await PushWholeAsync(server, client, bytes)).Bytes);
        }
        Assert.Equal(1, client.ConnectionsOpened);
    }

    [Fact]
    public async Task A_kept_connection_the_server_closed_at_rest_should_be_replaced_without_failing_the_transfer()
    {
        // The server gives up a connection silent for 1 s; this client would keep it for 30 s.
        var (server, client) = Pair(Small with { IdleTimeout = TimeSpan.FromSeconds(1) }, Small with { IdleTimeout = TimeSpan.FromMinutes(1) });
        async Task PushOne(int seed)
        {
            var bytes = Bytes(1000, seed);
            Assert.Equal(bytes, (await PushWholeAsync(server, client, bytes)).Bytes);
        }
        await PushOne(1);
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        while (server.OpenConnections > 0 && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.Equal(0, server.OpenConnections);

        await PushOne(2);

        Assert.Equal(2, client.ConnectionsOpened);
    }

    [Fact]
    public async Task A_push_without_an_expected_token_should_be_refused_and_write_nothing()
    {
        var (server, client) = Pair();
        var sink = new MemorySink();
        var expected = TransferToken.New();
        _ = server.ExpectPush(expected, 10, sink, Ttl);

        var e = await Assert.ThrowsAsync<BulkChannelException>(() => client.PushAsync(server.Endpoint, TransferToken.New(), 10, Pieces(Bytes(10, 1))));

        Assert.Matches(@"refused the push: transfer token [0-9a-f]{8}… is unknown$", e.Message);
        Assert.Empty(sink.Bytes);
        Assert.Equal(1, server.Refused);
        Assert.Equal(1, server.Pending);
    }

    [Fact]
    public async Task A_replayed_token_should_be_refused_and_write_nothing()
    {
        var (server, client) = Pair();
        var token = TransferToken.New();
        var first = new MemorySink();
        var received = server.ExpectPush(token, 10, first, Ttl);
        await client.PushAsync(server.Endpoint, token, 10, Pieces(Bytes(10, 1)));
        await received;

        var e = await Assert.ThrowsAsync<BulkChannelException>(() => client.PushAsync(server.Endpoint, token, 10, Pieces(Bytes(10, 2))));

        Assert.EndsWith("was already used", e.Message);
        Assert.Equal(Bytes(10, 1), first.Bytes);
    }

    [Fact]
    public async Task A_token_for_another_length_or_direction_should_be_refused()
    {
        var (server, client) = Pair();
        var token = TransferToken.New();
        var sink = new MemorySink();
        var received = server.ExpectPush(token, 10, sink, Ttl);

        var e = await Assert.ThrowsAsync<BulkChannelException>(() => client.FetchAsync(server.Endpoint, token, new byte[10]));

        Assert.EndsWith("admits a push, not a fetch", e.Message);
        await Assert.ThrowsAsync<BulkChannelException>(() => received);
        Assert.NotNull(sink.Aborted);
        Assert.Empty(sink.Bytes);
    }

    [Fact]
    public async Task A_stranger_sending_anything_else_should_be_cut_off_and_write_nothing()
    {
        var (server, _) = Pair();
        var sink = new MemorySink();
        _ = server.ExpectPush(TransferToken.New(), 4, sink, Ttl);
        var (host, port) = BulkClient.ParseEndpoint(server.Endpoint);
        using var stranger = new TcpClient();
        await stranger.ConnectAsync(host, port);
        var stream = stranger.GetStream();
        await stream.WriteAsync("GET / HTTP/1.1\r\nHost: x\r\nAccept: */*\r\nUser-Agent: stranger\r\n\r\n"u8.ToArray());

        // The server closes the connection without a word.
        var answer = new byte[64];
        Assert.Equal(0, await stream.ReadAsync(answer));
        Assert.Empty(sink.Bytes);
        Assert.Equal(1, server.Pending);
    }

    [Fact]
    public async Task A_corrupted_frame_should_fail_the_transfer_before_its_bytes_reach_the_sink()
    {
        var (server, _) = Pair();
        var (raw, sink, received) = await RawPushAsync(server, 20);
        await using var _ = raw;
        var good = Bytes(10, 5);
        await raw.Connection.WriteAsync(BulkFrameKind.Data, 0, good, System.IO.Hashing.XxHash3.HashToUInt64(good));
        var bad = Bytes(10, 6);
        var sum = System.IO.Hashing.XxHash3.HashToUInt64(bad);
        bad[3] ^= 0x10;
        await raw.Connection.WriteAsync(BulkFrameKind.Data, 10, bad, sum);

        var e = await Assert.ThrowsAsync<BulkChannelException>(() => received);
        Assert.EndsWith("data frame at 10 (10 bytes) arrived corrupted (checksum mismatch)", e.Message);
        Assert.Equal(good, sink.Bytes);
        Assert.Same(e, sink.Aborted);
        var told = await Assert.ThrowsAsync<BulkChannelException>(async () => await raw.Connection.ReadAsync(default));
        Assert.Contains("gave up the transfer: bulk channel from", told.Message);
    }

    [Fact]
    public async Task A_sender_silent_mid_frame_should_fail_the_push_after_the_idle_timeout_and_abort_the_sink()
    {
        var (server, _) = Pair(Small with { IdleTimeout = TimeSpan.FromSeconds(1) });
        var (raw, sink, received) = await RawPushAsync(server, 20);
        await using var _ = raw;
        // A frame of 20 bytes announced, 5 sent, then nothing (a host gone mid-frame).
        var bytes = Bytes(20, 3);
        var header = new byte[BulkFrame.HeaderLength];
        new BulkFrame(BulkFrameKind.Data, 20, 0, System.IO.Hashing.XxHash3.HashToUInt64(bytes)).Write(header);
        await raw.Stream.WriteAsync(header);
        await raw.Stream.WriteAsync(bytes.AsMemory(0, 5));

        var e = await Assert.ThrowsAsync<BulkChannelException>(() => received.WaitAsync(Patience));
        Assert.EndsWith(": nothing heard for 1 s", e.Message);
        Assert.Empty(sink.Bytes);
        Assert.Same(e, sink.Aborted);
    }

    [Fact]
    public async Task A_receiver_that_takes_nothing_should_fail_the_push_after_the_idle_timeout_though_the_window_is_open()
    {
        // A window far larger than the sockets' buffers: the sender is stuck in a write, not waiting for credit.
        var wide = Small with { FrameSize = 1 << 20, Window = 64 << 20 };
        var (server, client) = Pair(wide, wide with { IdleTimeout = TimeSpan.FromSeconds(1) });
        var size = 32 << 20;
        var sink = new MemorySink { Gate = new SemaphoreSlim(0) };
        var token = TransferToken.New();
        var received = server.ExpectPush(token, size, sink, Ttl);
        try
        {
            var e = await Assert.ThrowsAsync<BulkChannelException>(() => client.PushAsync(server.Endpoint, token, size, Pieces(Bytes(size, 4), 1 << 20)).WaitAsync(Patience));
            Assert.EndsWith(": the peer took nothing for 1 s", e.Message);
        }
        finally
        {
            sink.Gate.Release(int.MaxValue / 2);
        }
        await Assert.ThrowsAsync<BulkChannelException>(() => received.WaitAsync(Patience));
        Assert.NotNull(sink.Aborted);
    }

    [Fact]
    public async Task An_empty_data_frame_should_fail_the_transfer()
    {
        var (server, _) = Pair();
        var (raw, sink, received) = await RawPushAsync(server, 20);
        await using var _ = raw;
        await raw.Connection.WriteAsync(BulkFrameKind.Data, 0, ReadOnlyMemory<byte>.Empty, System.IO.Hashing.XxHash3.HashToUInt64([]));

        var e = await Assert.ThrowsAsync<BulkChannelException>(() => received.WaitAsync(Patience));
        Assert.EndsWith("empty data frame at 0", e.Message);
        Assert.Same(e, sink.Aborted);
    }

    [Fact]
    public async Task A_connection_dropped_mid_transfer_should_fail_it_and_abort_the_sink()
    {
        var (server, _) = Pair();
        var (raw, sink, received) = await RawPushAsync(server, 1000);
        var half = Bytes(500, 7);
        await raw.Connection.WriteAsync(BulkFrameKind.Data, 0, half, System.IO.Hashing.XxHash3.HashToUInt64(half));
        await raw.DisposeAsync();

        var e = await Assert.ThrowsAsync<BulkChannelException>(() => received);
        Assert.Contains("connection closed", e.Message);
        Assert.NotNull(sink.Aborted);
        Assert.False(sink.Completed);
    }

    [Fact]
    public async Task A_connection_dropped_in_the_middle_of_a_frame_should_say_so()
    {
        var (server, _) = Pair();
        var (raw, sink, received) = await RawPushAsync(server, 20);
        // A frame of 20 bytes announced, 5 sent, then the connection closed (a host killed mid-frame).
        var bytes = Bytes(20, 4);
        var header = new byte[BulkFrame.HeaderLength];
        new BulkFrame(BulkFrameKind.Data, 20, 0, System.IO.Hashing.XxHash3.HashToUInt64(bytes)).Write(header);
        await raw.Stream.WriteAsync(header);
        await raw.Stream.WriteAsync(bytes.AsMemory(0, 5));
        await raw.DisposeAsync();

        var e = await Assert.ThrowsAsync<BulkChannelException>(() => received.WaitAsync(Patience));
        // Before: .NET's "Unable to read beyond the end of the stream."
        Assert.EndsWith(": connection closed in the middle of a frame", e.Message);
        Assert.Empty(sink.Bytes);
        Assert.Same(e, sink.Aborted);
    }

    [Theory]
    [InlineData(20, 3)]
    [InlineData(3, 2)] // the last frame: End is read before the sink fails
    public async Task A_sink_that_fails_should_fail_the_push_with_its_cause_at_both_ends_and_keep_what_came_before(int frames, int failingFrame)
    {
        var (server, client) = Pair();
        var bytes = Bytes(frames * Small.FrameSize, 21);
        var sink = new MemorySink { FailAt = failingFrame * Small.FrameSize };
        var token = TransferToken.New();
        var received = server.ExpectPush(token, bytes.Length, sink, Ttl);

        var e = await Assert.ThrowsAsync<BulkChannelException>(() => client.PushAsync(server.Endpoint, token, bytes.Length, Pieces(bytes, Small.FrameSize)));

        // The sender hears why, though it was still sending when the server gave up.
        Assert.Equal($"{server.Endpoint} gave up the transfer: No space left on device", e.Message);
        // The receiving side fails with the sink's own error, as it is: a full disk, not a channel fault.
        var cause = await Assert.ThrowsAsync<IOException>(() => received.WaitAsync(Patience));
        Assert.Equal("No space left on device", cause.Message);
        Assert.Same(cause, sink.Aborted);
        Assert.Equal(bytes.AsSpan(0, failingFrame * Small.FrameSize).ToArray(), sink.Bytes);
        Assert.Equal(1, server.Failed);
    }

    [Fact]
    public async Task A_slow_receiver_should_hold_the_sender_to_the_window()
    {
        var (server, client) = Pair();
        var size = 40 * Small.FrameSize;
        var bytes = Bytes(size, 9);
        var sink = new MemorySink { Gate = new SemaphoreSlim(0) };
        var token = TransferToken.New();
        var received = server.ExpectPush(token, size, sink, Ttl);
        var probe = new BulkTransferProbe();
        long pulled = 0;
        IEnumerable<ReadOnlyMemory<byte>> Counted()
        {
            foreach (var p in Pieces(bytes, 4096))
            {
                Interlocked.Add(ref pulled, p.Length);
                yield return p;
            }
        }

        var push = client.PushAsync(server.Endpoint, token, size, Counted(), probe);
        try
        {
            // Bounded: a sender stuck in a write (kernel buffers smaller than the window) never waits for credit.
            await probe.FirstCreditWait.WaitAsync(Patience);

            // The receiver has consumed nothing; the sender stopped at the window.
            Assert.Equal(Small.Window, probe.BytesSent);
            Assert.True(Interlocked.Read(ref pulled) <= Small.Window + 4096, $"pulled {pulled}");
            Assert.False(push.IsCompleted);
        }
        finally
        {
            // Whatever failed above, the receiver must not stay blocked: the server waits for it when disposed.
            sink.Gate.Release(int.MaxValue / 2);
        }
        await push.WaitAsync(Patience);
        await received.WaitAsync(Patience);
        Assert.Equal(bytes, sink.Bytes);
    }

    [Fact]
    public async Task A_transfer_over_tls_should_arrive_whole_and_an_untrusted_server_should_be_refused()
    {
        using var dir = new TempDirectory();
        var (cert, key) = SelfSignedCertificate.Write(dir.Path, "node-a");
        var tls = new BulkChannelTls(cert, key, cert, "node-a");
        var settings = Small with { Tls = tls };
        var (server, client) = Pair(settings);
        var bytes = Bytes(300_000, 11);

        Assert.Equal(bytes, (await PushWholeAsync(server, client, bytes)).Bytes);

        var (otherCert, _) = SelfSignedCertificate.Write(dir.Path, "stranger");
        await using var distrusting = new BulkClient(Small with { Tls = tls with { TrustFile = otherCert } });
        var e = await Assert.ThrowsAsync<BulkChannelException>(() => distrusting.PushAsync(server.Endpoint, TransferToken.New(), 1, Pieces(new byte[1])));
        Assert.StartsWith($"bulk channel: cannot connect to {server.Endpoint}:", e.Message);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_client_and_a_server_that_disagree_on_tls_should_be_told_so(bool clientTls)
    {
        using var dir = new TempDirectory();
        var (cert, key) = SelfSignedCertificate.Write(dir.Path, "node-a");
        var tls = new BulkChannelTls(cert, key, cert, "node-a");
        var logged = new System.Collections.Concurrent.BlockingCollection<string>();
        await using var server = BulkServer.Start(clientTls ? Small : Small with { Tls = tls }, logged.Add);
        await using var client = new BulkClient(clientTls ? Small with { Tls = tls } : Small);

        // Before: "Received an unexpected EOF or 0 bytes from the transport stream." or "connection closed", naming no setting.
        var e = await Assert.ThrowsAsync<BulkChannelException>(() => client.PushAsync(server.Endpoint, TransferToken.New(), 1, Pieces(new byte[1])));
        Assert.StartsWith($"bulk channel: cannot connect to {server.Endpoint}: it closed the connection {(clientTls ? "during the TLS handshake" : "at the hello")}", e.Message);
        Assert.EndsWith("; actorckpt.transfer.channel.tls.enabled must be the same on every node", e.Message);
        if (clientTls) return;
        // The TLS server's log names the cause: before, .NET's "Authentication failed, see inner exception."
        Assert.True(logged.TryTake(out var line, Patience), "the server logged nothing");
        Assert.Matches(@"^bulk channel: connection from \S+ closed: bulk channel from \S+: TLS handshake failed: .+ \(a client with TLS off, an older TLS version, or not a node of this job\)$", line);
        Assert.DoesNotContain("see inner exception", line);
    }

    [Fact]
    public async Task A_server_that_hangs_up_at_the_hello_should_be_told_as_gone_or_of_other_tls()
    {
        // A node going away (its listener still there) looks, from the client, like a server with TLS on.
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var endpoint = $"127.0.0.1:{((System.Net.IPEndPoint)listener.LocalEndpoint).Port}";
        var hangUp = Task.Run(async () =>
        {
            using var accepted = await listener.AcceptTcpClientAsync();
        });
        await using var client = new BulkClient(Small);

        // Before: "…, as a server with TLS on does to a client with TLS off", when TLS was off everywhere and the node was dying.
        var e = await Assert.ThrowsAsync<BulkChannelException>(() => client.PushAsync(endpoint, TransferToken.New(), 1, Pieces(new byte[1])));
        Assert.Equal($"bulk channel: cannot connect to {endpoint}: it closed the connection at the hello: its node is stopping or gone, "
            + "or it has TLS on where this node has it off; actorckpt.transfer.channel.tls.enabled must be the same on every node", e.Message);
        await hangUp;
    }

    [Fact]
    public void Tokens_derived_for_attempts_should_differ_and_be_reproducible()
    {
        var grant = TransferToken.New();
        Assert.Equal(grant.ForAttempt(2), grant.ForAttempt(2));
        Assert.NotEqual(grant.ForAttempt(1), grant.ForAttempt(2));
        Assert.NotEqual(grant, grant.ForAttempt(1));
        Assert.Matches("^[0-9a-f]{32}$", grant.ForAttempt(3).Hex);
    }

    [Fact]
    public void Activity_should_count_the_time_any_transfer_was_under_way_once_and_leave_out_gaps()
    {
        var f = System.Diagnostics.Stopwatch.Frequency;
        // Seconds 0-2 and 1-3 overlap, 2.5-2.75 lies inside them, 5-6 comes after a gap: busy 4 s of a 6 s span.
        var node = BulkActivity.None.With(100, 0, 2 * f).With(200, 1 * f, 3 * f);
        var other = BulkActivity.None.With(300, 5 * f, 6 * f).With(400, 5 * f / 2, 11 * f / 4);
        var all = BulkActivity.Combine(new[] { node, BulkActivity.None, other });

        Assert.Equal((4L, 1000L), (all.Transfers, all.Bytes));
        Assert.Equal(4.0, all.BusySeconds, 9);
        Assert.Equal(6.0, all.SpanSeconds, 9);
        Assert.Equal(1000 / 4.0 / 1e9, all.GigabytesPerSecond, 15);
        Assert.Equal(0, BulkActivity.None.GigabytesPerSecond);
    }

    [Fact]
    public void A_token_expires_unused_and_then_is_refused()
    {
        long now = 0;
        var expired = new List<string>();
        var admission = new TransferAdmission<string>(expired.Add, () => now);
        var token = TransferToken.New();
        admission.Expect(token, "sink", TimeSpan.FromSeconds(5));
        now += TimeSpan.FromSeconds(6).Ticks;

        Assert.Null(admission.Redeem(token, out var refusal));
        Assert.EndsWith("expired", refusal);
        Assert.Equal(new[] { "sink" }, expired);
        Assert.Null(admission.Redeem(token, out refusal));
        Assert.EndsWith("was already used", refusal);
    }

    [Fact]
    public void A_damaged_frame_header_should_be_refused_with_one_line()
    {
        var header = new byte[BulkFrame.HeaderLength];
        new BulkFrame(BulkFrameKind.Data, 100, 5, 7).Write(header);
        Assert.Equal(new BulkFrame(BulkFrameKind.Data, 100, 5, 7), BulkFrame.Read(header, 1 << 20, "p"));
        header[9] ^= 1;
        Assert.Equal("bulk channel from p: frame header corrupted (its checksum does not match)",
            Assert.Throws<BulkChannelException>(() => BulkFrame.Read(header, 1 << 20, "p")).Message);
        new BulkFrame(BulkFrameKind.Data, 2 << 20, 0, 0).Write(header);
        Assert.Equal("bulk channel from p: Data frame of 2097152 bytes (at most 1048576)",
            Assert.Throws<BulkChannelException>(() => BulkFrame.Read(header, 1 << 20, "p")).Message);
    }

    /// <summary>
    /// A push of <paramref name="length"/> bytes into a new sink, expected by <paramref name="server"/>
    /// and admitted on a raw connection, whose frames the test then writes by hand.
    /// </summary>
    private static async Task<(RawConnection Raw, MemorySink Sink, Task Received)> RawPushAsync(BulkServer server, long length)
    {
        var sink = new MemorySink();
        var token = TransferToken.New();
        var received = server.ExpectPush(token, length, sink, Ttl);
        var raw = await RawConnection.OpenAsync(server.Endpoint, Small);
        await raw.Connection.WriteAsync(BulkFrameKind.Push, length, TokenBytes(token));
        await raw.Connection.ExpectAsync(BulkFrameKind.Accepted, default);
        return (raw, sink, received);
    }

    private static byte[] TokenBytes(TransferToken token)
    {
        var b = new byte[TransferToken.Length];
        token.Write(b);
        return b;
    }

    /// <summary>A client connection driven frame by frame, to send what a well-behaved client would not.</summary>
    private sealed class RawConnection(BulkConnection connection, Stream stream) : IAsyncDisposable
    {
        public BulkConnection Connection { get; } = connection;

        /// <summary>The socket's stream under <see cref="Connection"/>, for bytes no frame would send.</summary>
        public Stream Stream { get; } = stream;

        public static async Task<RawConnection> OpenAsync(string endpoint, BulkChannelSettings settings)
        {
            var (host, port) = BulkClient.ParseEndpoint(endpoint);
            var socket = new TcpClient();
            await socket.ConnectAsync(host, port);
            var connection = new BulkConnection(socket.GetStream(), endpoint, settings);
            await connection.WriteAsync(BulkFrameKind.Hello, BulkFrame.ProtocolVersion);
            await connection.ExpectAsync(BulkFrameKind.Hello, default);
            return new RawConnection(connection, socket.GetStream());
        }

        public ValueTask DisposeAsync() => Connection.DisposeAsync();
    }

    private sealed class MemorySink : ITransferSink
    {
        private readonly MemoryStream _bytes = new();

        public SemaphoreSlim? Gate { get; init; }
        public byte[] Bytes { get { lock (_bytes) return _bytes.ToArray(); } }
        public bool Completed { get; private set; }
        public Exception? Aborted { get; private set; }

        /// <summary>A write at this position throws, as a full disk would.</summary>
        public long? FailAt { get; init; }

        public void Write(long position, ReadOnlySpan<byte> bytes)
        {
            Gate?.Wait();
            if (position == FailAt) throw new IOException("No space left on device");
            lock (_bytes)
            {
                Assert.Equal(_bytes.Length, position);
                _bytes.Write(bytes);
            }
        }

        public void Complete() => Completed = true;

        public void Abort(Exception cause) => Aborted = cause;
    }

    /// <summary>Checks each byte against a pattern of its position instead of keeping it.</summary>
    private sealed class PatternSink : ITransferSink
    {
        public long Received { get; private set; }
        public string? Mismatch { get; private set; }
        public bool Completed { get; private set; }

        /// <summary>The pattern at <paramref name="position"/> (a multiple of 8): word k of the transfer is k times a large odd constant.</summary>
        public static void Fill(Span<byte> into, long position)
        {
            Assert.Equal(0, position % 8);
            var words = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(into);
            var first = (ulong)(position / 8);
            for (var i = 0; i < words.Length; i++) words[i] = (first + (ulong)i) * 0x9E3779B97F4A7C15;
            Span<byte> last = stackalloc byte[8];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(last, (first + (ulong)words.Length) * 0x9E3779B97F4A7C15);
            last[..(into.Length % 8)].CopyTo(into[(words.Length * 8)..]);
        }

        public void Write(long position, ReadOnlySpan<byte> bytes)
        {
            if (position != Received) Mismatch ??= $"write at {position} after {Received}";
            Span<byte> expected = stackalloc byte[4096];
            for (var at = 0; at < bytes.Length; at += expected.Length)
            {
                var n = Math.Min(expected.Length, bytes.Length - at);
                Fill(expected[..n], position + at);
                if (!bytes.Slice(at, n).SequenceEqual(expected[..n])) Mismatch ??= $"bytes differ near {position + at}";
            }
            Received += bytes.Length;
        }

        public void Complete() => Completed = true;

        public void Abort(Exception cause) => Mismatch ??= "aborted: " + cause.Message;
    }

    private sealed class MemorySource(byte[] bytes) : ITransferSource
    {
        private readonly TaskCompletionSource _disposed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public Task Disposed => _disposed.Task;
        public long Length => bytes.Length;
        public int FrameSize { get; init; }
        public void Read(long position, Span<byte> into) => bytes.AsSpan((int)position, into.Length).CopyTo(into);
        public void Dispose() => _disposed.TrySetResult();
    }
}
