using System.Collections.Concurrent;
using Akka.Actor;

namespace ActorCkpt.Actors.Tests;

public class ClusterSpec : NodeSpec
{
    private static readonly IReadOnlyList<(string Key, DType DType, Layout Layout, long Rows, long Cols)> Model =
        TestStates.Model(new[] { DType.Float32, DType.BFloat16, DType.Int64 }, new[] { Layout.Rows, Layout.Columns, Layout.Replicated, Layout.UnevenWithEmpty });

    /// <summary>A model with tensors big enough to take many transfer chunks.</summary>
    private static readonly IReadOnlyList<(string Key, DType DType, Layout Layout, long Rows, long Cols)> BigModel =
        new[] { ("big.rows", DType.Float32, Layout.Rows, 512L, 300L), ("big.replicated", DType.Float32, Layout.Replicated, 200L, 300L) };

    [Theory]
    [InlineData("channel")]
    [InlineData("stream-refs")]
    public async Task Spread_placement_should_stream_bytes_to_writers_on_other_nodes_and_load_bit_exact(string path)
    {
        // Node 0: ranks and planner, no writer: every byte of its ranks must cross the network.
        await using var cluster = await TestCluster.StartAsync(Root, $"actorckpt.planner.placement = spread\nactorckpt.planner.plan-timeout = 3s\nactorckpt.transfer.path = {path}",
            new TestNode("rank, planner"), new TestNode("rank, writer, planner"), new TestNode("writer"));
        await cluster.AwaitWritersAsync(4, Patience);
        var model = Model.Concat(BigModel).ToArray();
        var states = TestStates.Build(model, 4, seed: 7);

        var handles = states.Select(s => cluster.Nodes[s.Rank < 2 ? 0 : 1].Save(1, s)).ToArray();
        await Task.WhenAll(handles.Select(h => h.Committed)).WaitAsync(Patience);

        var md = cluster.Nodes[0].Store.ReadMetadata(1);
        var rankNode = TestCluster.Address(cluster.Systems[0]).ToString();
        var writerNodes = new[] { 1, 2 }.Select(i => TestCluster.Address(cluster.Systems[i]).ToString()).ToArray();
        Assert.DoesNotContain(md.Files, f => f.Node == rankNode);
        // Four files over four writers, two on each writer node. Which writer gets which file follows
        // the order the writers registered in, so only the count per node is fixed here; the
        // placement rule itself is WriteAssignerSpec's.
        Assert.Equal(new[] { writerNodes[0], writerNodes[0], writerNodes[1], writerNodes[1] }.Order(), md.Files.Select(f => f.Node).Order());
        // Over the bulk channel, each writer node received exactly the tensor bytes of its files
        // from ranks on other nodes (node 1's own ranks hand theirs over by reference); over
        // StreamRefs, the channel carried nothing.
        string RankNode(int rank) => TestCluster.Address(cluster.Systems[rank < 2 ? 0 : 1]).ToString();
        for (var i = 1; i <= 2; i++)
        {
            var files = md.Files.Where(f => f.Node == writerNodes[i - 1] && RankNode(f.Rank) != f.Node).Select(f => f.Name).ToHashSet();
            var bytes = md.Tensors.Values.SelectMany(t => t.Chunks).Select(c => c.Bytes).Concat(md.Objects.Select(o => o.Bytes)).Where(b => files.Contains(b.File)).Sum(b => b.Length);
            var received = BulkChannels.Get(cluster.Systems[i]).For(cluster.Nodes[i].Settings).Server.Received;
            Assert.Equal(path == "channel" ? ((long)files.Count, bytes) : (0L, 0L), received);
        }
        Assert.True(md.Files.Count(f => RankNode(f.Rank) != f.Node) >= 2);
        var targets = TestStates.Empty(model, 3);
        await Task.WhenAll(targets.Select(t => cluster.Nodes[0].LoadAsync(t))).WaitAsync(Patience);
        Assert.Empty(TestStates.Differences(model, targets, seed: 7));

        // A rank that never sends its plan: the save aborts at the deadline, naming it.
        var partial = TestStates.Build(Model, 3, seed: 8);
        var missing = partial.Take(2).Select(s => cluster.Nodes[0].Save(2, s)).ToArray();
        var e = await Assert.ThrowsAsync<CheckpointFailedException>(() => missing[0].Committed.WaitAsync(Patience));
        Assert.Contains("rank 2 did not send its plan", e.Message);
        TestStates.Dispose(states.Concat(targets).Concat(partial));
    }

    [Fact]
    public async Task Writers_of_a_node_on_another_root_should_be_refused_and_no_file_should_land_there()
    {
        var other = Root + "-other";
        var otherId = new CheckpointStore(new LocalBlobStore(other)).RootId(); // another job's root
        try
        {
            await using var cluster = await TestCluster.StartAsync(Root, "", new TestNode("rank, planner"), new TestNode("writer"));
            await cluster.AwaitWritersAsync(2, Patience);
            var errors = CreateTestProbe(cluster.Systems[0]);
            cluster.Systems[0].EventStream.Subscribe(errors.Ref, typeof(Akka.Event.Error));

            var foreign = await cluster.JoinAsync(new TestNode("writer", Store: _ => new LocalBlobStore(other)));

            // Before: its writers were taken, files of the job's steps went to the other root, and the
            // commit recorded them: the job's steps were damaged, the other root's overwritten.
            var refused = (Akka.Event.Error)errors.FishForMessage(m => m is Akka.Event.Error e && $"{e.Message}".StartsWith("Refused writers", StringComparison.Ordinal), Patience);
            Assert.Equal($"Refused writers: the writers of {TestCluster.Address(foreign)} write to another checkpoint root (root id {otherId}) than the planner's " +
                         $"'{Path.GetFullPath(Root)}' (root id {cluster.Nodes[0].Store.RootId()}): give every node the same root", $"{refused.Message}");
            await cluster.AwaitWritersAsync(2, Patience);
            var states = TestStates.Build(Model, 2, seed: 3);
            await Task.WhenAll(states.Select(s => cluster.Nodes[0].Save(1, s).Committed)).WaitAsync(Patience);
            Assert.All(cluster.Nodes[0].Store.ReadMetadata(1).Files, f => Assert.Equal(TestCluster.Address(cluster.Systems[1]).ToString(), f.Node));
            Assert.Empty(Directory.GetDirectories(other, "step-*"));
            TestStates.Dispose(states);

            // A pool refused looks at its root's id again (a rebuild on a server gives a root a new
            // one): once it is the planner's, its writers register.
            File.Copy(Path.Combine(Root, CheckpointLayout.RootIdFile), Path.Combine(other, CheckpointLayout.RootIdFile), overwrite: true);
            await cluster.AwaitWritersAsync(4, Patience);
        }
        finally
        {
            ScratchDirectory.Delete(other);
        }
    }

    [Fact]
    public async Task A_step_kept_only_in_the_object_tier_should_load_on_a_node_other_than_the_planners()
    {
        var tier = Root + "-tier";
        try
        {
            await using var cluster = await TestCluster.StartAsync(Root,
                $"actorckpt.tiers.object {{ root = \"{tier}\", every = 1 }}\nactorckpt.retention {{ keep-last = 1, grace-after-start = 0s }}",
                new TestNode("rank, writer, planner"), new TestNode("rank, writer, planner"));
            await cluster.AwaitWritersAsync(4, Patience);
            for (var step = 1; step <= 2; step++)
            {
                var states = TestStates.Build(Model, 4, seed: step);
                await Task.WhenAll(states.Select(s => cluster.Nodes[s.Rank % 2].Save(step, s).Committed)).WaitAsync(Patience);
                TestStates.Dispose(states);
            }
            await cluster.Nodes[1].WaitForUploadsAsync(Patience);
            // Step 1 is gone from the shared root (retention keeps one) once its upload let go of it.
            await AwaitConditionAsync(() => Task.FromResult(!cluster.Nodes[0].Store.IsCommitted(1)), Patience);

            // The planner runs on the oldest node; the other node's ranks read the tier themselves.
            var targets = TestStates.Empty(Model, 3);
            var results = await Task.WhenAll(targets.Select(t => cluster.Nodes[1].LoadAsync(t, 1))).WaitAsync(Patience);
            Assert.All(results, r => Assert.Equal((1L, StorageTier.Object), (r.Step, r.Tier)));
            Assert.Empty(TestStates.Differences(Model, targets, seed: 1));
            TestStates.Dispose(targets);
        }
        finally
        {
            ScratchDirectory.Delete(tier);
        }
    }

    [Theory]
    [InlineData("corrupted frame")]
    [InlineData("connection cut")]
    public async Task A_push_that_fails_mid_transfer_should_be_retried_and_the_save_commit_bit_exact(string fault)
    {
        // Every byte crosses to the writer-only node, in 64 KiB frames within a 256 KiB window.
        await using var cluster = await TestCluster.StartAsync(Root,
            "actorckpt.planner.placement = spread\nactorckpt.writer.backoff-min = 10ms\nactorckpt.transfer.channel.frame-size = 64KiB\nactorckpt.transfer.channel.window = 256KiB",
            new TestNode("rank, planner"), new TestNode("writer"));
        await cluster.AwaitWritersAsync(2, Patience);
        var faults = fault == "corrupted frame" ? new BulkSendFaults(corrupt: 1) : new BulkSendFaults(dropAfter: 3);
        BulkChannels.Get(cluster.Systems[0]).For(cluster.Nodes[0].Settings).Client.Faults = faults;
        var model = Model.Concat(BigModel).ToArray();
        var states = TestStates.Build(model, 2, seed: 21);

        await Task.WhenAll(states.Select(s => cluster.Nodes[0].Save(1, s).Committed)).WaitAsync(Patience);

        // One push failed on the writer's side and was made again; every file arrived whole once.
        Assert.Equal(fault == "corrupted frame" ? (1, 0) : (0, 1), (faults.Corrupted, faults.Dropped));
        var server = BulkChannels.Get(cluster.Systems[1]).For(cluster.Nodes[1].Settings).Server;
        var md = cluster.Nodes[0].Store.ReadMetadata(1);
        Assert.Equal((1L, (long)md.Files.Count), (server.Failed, server.Received.Transfers));
        var targets = TestStates.Empty(model, 3);
        await Task.WhenAll(targets.Select(t => cluster.Nodes[0].LoadAsync(t))).WaitAsync(Patience);
        Assert.Empty(TestStates.Differences(model, targets, seed: 21));
        TestStates.Dispose(states.Concat(targets));
    }

    [Fact]
    public async Task Local_placement_should_keep_every_byte_on_the_ranks_own_node()
    {
        await using var cluster = await TestCluster.StartAsync(Root, "actorckpt.planner.placement = local",
            new TestNode("rank, writer, planner"), new TestNode("rank, writer, planner"), new TestNode("writer"));
        await cluster.AwaitWritersAsync(6, Patience);
        var states = TestStates.Build(Model, 4, seed: 9);

        var handles = states.Select(s => cluster.Nodes[s.Rank % 2].Save(1, s)).ToArray();
        await Task.WhenAll(handles.Select(h => h.Committed)).WaitAsync(Patience);

        var md = cluster.Nodes[0].Store.ReadMetadata(1);
        Assert.All(md.Files, f => Assert.Equal(TestCluster.Address(cluster.Systems[f.Rank % 2]).ToString(), f.Node));
        TestStates.Dispose(states);
    }

    [Fact]
    public async Task A_load_through_readers_should_fetch_every_range_from_the_node_that_wrote_it()
    {
        // Node 0 holds the ranks but cannot read data files itself: the load must go through the
        // readers on the writer nodes. All three share one directory, so which node served a file
        // shows only in what each node's own store opened.
        var served = new[] { new ConcurrentQueue<string>(), new ConcurrentQueue<string>() };
        await using var cluster = await TestCluster.StartAsync(Root, "actorckpt.load.source = reader",
            new TestNode("rank, planner", s => new NoDataFilesStore(s)),
            new TestNode("writer, planner", s => new DataFileReads(s, served[0])), new TestNode("writer", s => new DataFileReads(s, served[1])));
        await cluster.AwaitWritersAsync(4, Patience);
        var model = Model.Concat(BigModel).ToArray();
        var states = TestStates.Build(model, 2, seed: 13);
        await Task.WhenAll(states.Select(s => cluster.Nodes[0].Save(1, s).Committed)).WaitAsync(Patience);
        foreach (var q in served) q.Clear();

        var targets = TestStates.Empty(model, 3);
        var results = await Task.WhenAll(targets.Select(t => cluster.Nodes[0].LoadAsync(t))).WaitAsync(Patience);

        Assert.Empty(TestStates.Differences(model, targets, seed: 13));
        Assert.All(results, r => Assert.True(r.BytesRead > 0));
        // Every file was read, each only on the node that wrote it.
        var md = cluster.Nodes[0].Store.ReadMetadata(1);
        for (var n = 0; n < 2; n++)
        {
            var node = TestCluster.Address(cluster.Systems[n + 1]).ToString();
            Assert.Equal(md.Files.Where(f => f.Node == node).Select(f => CheckpointLayout.InStep(1, f.Name)).Order(), served[n].Distinct().Order());
            // The node's bulk channel sent what it opened: each transfer the files of its ranges (a
            // fetch is counted once the rank acknowledged it, so perhaps after the load returned).
            var server = BulkChannels.Get(cluster.Systems[n + 1]).For(cluster.Nodes[n + 1].Settings).Server;
            await AwaitConditionAsync(() => Task.FromResult(server.Served.Transfers >= 1), Patience);
            Assert.InRange(server.Served.Transfers, 1, served[n].Count);
        }
        TestStates.Dispose(states.Concat(targets));
    }

    [Fact]
    public async Task A_load_through_the_reader_of_a_node_gone_from_the_cluster_should_fail_at_once_naming_the_node()
    {
        await using var cluster = await TestCluster.StartAsync(Root, "actorckpt.load.source = reader",
            new TestNode("rank, planner", s => new NoDataFilesStore(s)), new TestNode("writer"));
        await cluster.AwaitWritersAsync(2, Patience);
        var states = TestStates.Build(Model, 2, seed: 17);
        await Task.WhenAll(states.Select(s => cluster.Nodes[0].Save(1, s).Committed)).WaitAsync(Patience);
        var gone = TestCluster.Address(cluster.Systems[1]);
        await cluster.LeaveAsync(1);
        await AwaitConditionAsync(() => Task.FromResult(Akka.Cluster.Cluster.Get(cluster.Systems[0]).State.Members.All(m => m.Address != gone)), Patience);

        // Before: each rank waited out the save's write timeout (10 minutes) and failed with an AskTimeoutException naming nothing.
        var targets = TestStates.Empty(Model, 2);
        var e = await Assert.ThrowsAnyAsync<Exception>(() => cluster.Nodes[0].LoadAsync(targets[0]).WaitAsync(Patience));
        Assert.Contains($"reader on {gone} cannot serve ", e.Message);
        Assert.Contains("that node is not in the cluster (it left or died); with actorckpt.load.source = reader its files are read through it alone", e.Message);
        TestStates.Dispose(states.Concat(targets));
    }

    [Theory]
    [InlineData("corrupted frame", 3)]
    [InlineData("connection cut", 3)]
    [InlineData("refused token", 3)]
    [InlineData("corrupted frame", 0)]
    public async Task A_load_through_a_reader_whose_transfer_fails_on_the_way_should_ask_again_up_to_load_retries(string fault, int retries)
    {
        // Node 0 cannot read data files itself: every byte comes from the writer node's reader, in 64 KiB frames.
        await using var cluster = await TestCluster.StartAsync(Root,
            $"actorckpt.load.source = reader\nactorckpt.load.retries = {retries}\nactorckpt.writer.backoff-min = 10ms\nactorckpt.transfer.channel.frame-size = 64KiB",
            new TestNode("rank, planner", s => new NoDataFilesStore(s)), new TestNode("writer"));
        await cluster.AwaitWritersAsync(2, Patience);
        var model = Model.Concat(BigModel).ToArray();
        var states = TestStates.Build(model, 2, seed: 23);
        await Task.WhenAll(states.Select(s => cluster.Nodes[0].Save(1, s).Committed)).WaitAsync(Patience);
        var faults = fault switch
        {
            "corrupted frame" => new BulkSendFaults(corrupt: 1),
            "refused token" => new BulkSendFaults(refuse: 1),
            _ => new BulkSendFaults(dropAfter: 3),
        };
        var server = BulkChannels.Get(cluster.Systems[1]).For(cluster.Nodes[1].Settings).Server;
        server.Faults = faults;

        var targets = TestStates.Empty(model, 2);
        var loads = Task.WhenAll(targets.Select(t => cluster.Nodes[0].LoadAsync(t)));

        if (retries == 0)
        {
            var e = await Assert.ThrowsAnyAsync<Exception>(() => loads.WaitAsync(Patience));
            Assert.Contains("arrived corrupted (checksum mismatch)", e.Message);
        }
        else
        {
            // One transfer failed on the way and was asked for again; every byte arrived right.
            await loads.WaitAsync(Patience);
            Assert.Empty(TestStates.Differences(model, targets, seed: 23));
        }
        Assert.Equal(fault switch { "corrupted frame" => (1, 0, 0), "refused token" => (0, 0, 1), _ => (0, 1, 0) },
            (faults.Corrupted, faults.Dropped, faults.Refused));
        if (fault == "refused token") Assert.Equal(1, server.Refused);
        TestStates.Dispose(states.Concat(targets));
    }

    [Fact]
    public async Task A_load_through_readers_should_fetch_a_ranks_small_ranges_from_each_node_in_one_transfer()
    {
        await using var cluster = await TestCluster.StartAsync(Root, "actorckpt.load.source = reader",
            new TestNode("rank, planner", s => new NoDataFilesStore(s)), new TestNode("writer, planner"), new TestNode("writer"));
        await cluster.AwaitWritersAsync(4, Patience);
        var model = Enumerable.Range(0, 16).Select(i => ($"small.{i}", DType.Float32, Layout.Rows, 32L, 24L)).ToArray();
        var states = TestStates.Build(model, 2, seed: 19);
        await Task.WhenAll(states.Select(s => cluster.Nodes[0].Save(1, s).Committed)).WaitAsync(Patience);
        var servers = cluster.Systems.Skip(1).Select((s, n) => BulkChannels.Get(s).For(cluster.Nodes[n + 1].Settings).Server).ToArray();
        var (before, bytesBefore) = (servers.Sum(s => s.Served.Transfers), servers.Sum(s => s.Served.Bytes));

        var targets = TestStates.Empty(model, 2);
        await Task.WhenAll(targets.Select(t => cluster.Nodes[0].LoadAsync(t))).WaitAsync(Patience);

        Assert.Empty(TestStates.Differences(model, targets, seed: 19));
        // A server counts a fetch once the rank acknowledged it, so perhaps after the load returned:
        // wait until every stored byte is counted (each is read once), and its fetch with it.
        var stored = cluster.Nodes[0].Store.ReadMetadata(1).Tensors.Values.SelectMany(t => t.Chunks).Sum(c => c.Bytes.Length);
        await AwaitConditionAsync(() => Task.FromResult(servers.Sum(s => s.Served.Bytes) - bytesBefore >= stored), Patience);
        // 16 ranges a rank, one at a time 32 transfers: together, one per rank and node at most.
        Assert.InRange(servers.Sum(s => s.Served.Transfers) - before, 2, 2 * servers.Length);
        TestStates.Dispose(states.Concat(targets));
    }

    [Fact]
    public async Task A_block_a_reader_serves_corrupted_should_fail_the_load_that_needs_it_naming_file_and_block()
    {
        // The loader asks for frames of the range's block size (64 KiB for these 300 KB chunks), so each
        // block arrives as one frame whose checksum it takes for the block's. The reader hashes the
        // corrupted bytes it read: the frame arrives intact, and only the comparison with the recorded
        // block can refuse it.
        await using var cluster = await TestCluster.StartAsync(Root, "actorckpt.load.source = reader",
            new TestNode("rank, planner", s => new NoDataFilesStore(s)), new TestNode("writer, planner"), new TestNode("writer"));
        await cluster.AwaitWritersAsync(4, Patience);
        var states = TestStates.Build(BigModel, 2, seed: 17);
        await Task.WhenAll(states.Select(s => cluster.Nodes[0].Save(1, s).Committed)).WaitAsync(Patience);
        var chunk = cluster.Nodes[0].Store.ReadMetadata(1).Tensors["big.rows"].Chunks.Single(c => c.Box.Offsets[0] == 0);
        var path = Path.Combine(Root, CheckpointLayout.InStep(1, chunk.Bytes.File));
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[chunk.Bytes.Offset + 3 * 65536 + 100] ^= 0x40;
        await File.WriteAllBytesAsync(path, bytes);

        var targets = TestStates.Empty(BigModel, 2);
        var loads = targets.Select(t => cluster.Nodes[0].LoadAsync(t)).ToArray();
        await Task.WhenAll(loads).ContinueWith(_ => { }).WaitAsync(Patience);

        var e = Assert.IsType<ChecksumMismatchException>(loads[0].Exception!.InnerException);
        Assert.Equal($"checksum mismatch in '{chunk.Bytes.File}' for 'big.rows' (block 3, at byte {chunk.Bytes.Offset + 3 * 65536})", e.Message);
        Assert.True(loads[1].IsCompletedSuccessfully);
        TestStates.Dispose(states.Concat(targets));
    }

    [Fact]
    public async Task A_spread_save_and_a_load_through_readers_with_tls_on_should_cross_nodes_and_load_bit_exact()
    {
        // Node 0 holds the ranks, no writer, and reads no data file: every byte goes out and comes
        // back over the channel, through TLS (one certificate, each node's and the trust of all).
        var tls = Tls(on: true);
        await using var cluster = await TestCluster.StartAsync(Root, $"actorckpt.planner.placement = spread\nactorckpt.load.source = reader\n{tls}",
            new TestNode("rank, planner", s => new NoDataFilesStore(s)), new TestNode("writer, planner"), new TestNode("writer"));
        await cluster.AwaitWritersAsync(4, Patience);
        var model = Model.Concat(BigModel).ToArray();
        var states = TestStates.Build(model, 2, seed: 23);

        await Task.WhenAll(states.Select(s => cluster.Nodes[0].Save(1, s).Committed)).WaitAsync(Patience);
        var targets = TestStates.Empty(model, 3);
        await Task.WhenAll(targets.Select(t => cluster.Nodes[0].LoadAsync(t))).WaitAsync(Patience);

        Assert.Empty(TestStates.Differences(model, targets, seed: 23));
        var servers = cluster.Systems.Skip(1).Select((s, n) => BulkChannels.Get(s).For(cluster.Nodes[n + 1].Settings)).ToArray();
        Assert.All(servers, c => Assert.NotNull(c.Settings.Tls));
        // Every file was pushed to its writer node and read back from it, over the channel.
        var md = cluster.Nodes[0].Store.ReadMetadata(1);
        Assert.Equal(md.Files.Count, servers.Sum(c => c.Server.Received.Transfers));
        await AwaitConditionAsync(() => Task.FromResult(servers.All(c => c.Server.Served.Transfers >= 1)), Patience);
        TestStates.Dispose(states.Concat(targets));
    }

    [Fact]
    public async Task A_node_with_tls_off_among_nodes_with_it_on_should_fail_its_save_naming_the_setting_and_commit_nothing()
    {
        var tls = Tls(on: true);
        await using var cluster = await TestCluster.StartAsync(Root, "actorckpt.planner.placement = spread\nactorckpt.writer.max-retries = 1\nactorckpt.planner.plan-timeout = 5s",
            new TestNode("rank, planner", Extra: Tls(on: false)), new TestNode("writer, planner", Extra: tls), new TestNode("writer", Extra: tls));
        await cluster.AwaitWritersAsync(4, Patience);
        var states = TestStates.Build(Model, 2, seed: 29);

        var saves = states.Select(s => cluster.Nodes[0].Save(1, s).Committed).ToArray();
        var e = await Assert.ThrowsAsync<CheckpointFailedException>(() => saves[0].WaitAsync(Patience));

        // Before any byte: the writer node hung up at the hello, which names the setting to align.
        Assert.Contains("it closed the connection at the hello", e.Message);
        Assert.Contains("actorckpt.transfer.channel.tls.enabled must be the same on every node", e.Message);
        await Assert.ThrowsAsync<CheckpointFailedException>(() => saves[1].WaitAsync(Patience));
        Assert.False(cluster.Nodes[0].Store.IsCommitted(1));
        Assert.All(cluster.Systems.Skip(1), (s, n) => Assert.Equal(0L, BulkChannels.Get(s).For(cluster.Nodes[n + 1].Settings).Server.Received.Bytes));
        TestStates.Dispose(states);
    }

    /// <summary>The channel's TLS settings: on, with one self-signed certificate for every node (made once per test), or off.</summary>
    private string Tls(bool on)
    {
        if (!on) return "actorckpt.transfer.channel.tls.enabled = off";
        var (cert, key) = SelfSignedCertificate.Write(Root, "ckpt-node");
        return $"actorckpt.transfer.channel.tls {{ enabled = on, certificate = \"{cert}\", key = \"{key}\", trust = \"{cert}\", server-name = ckpt-node }}";
    }

    /// <summary>A node's store that notes every data file it opens for reading.</summary>
    private sealed class DataFileReads(IBlobStore inner, ConcurrentQueue<string> opened) : DelegatingBlobStore(inner)
    {
        public override IBlobReader OpenRead(string path)
        {
            if (path.EndsWith(".safetensors", StringComparison.Ordinal)) opened.Enqueue(path);
            return base.OpenRead(path);
        }
    }
}
