using System.Globalization;
using System.Reflection;
using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Configuration;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.TestKit;
using Akka.TestKit.Xunit2;

namespace ActorCkpt.Actors.Tests;

/// <summary>A message type of this test assembly: not admitted by the wire type filter.</summary>
public sealed record UnlistedMessage(string Text) : IActorCkptMessage;

/// <summary>Forwards everything it receives to a probe, with the sender.</summary>
public sealed class ForwardActor : ReceiveActor
{
    public ForwardActor(IActorRef probe) => ReceiveAny(m => probe.Forward(m));
}

/// <summary>A type no wire message carries: its setter counts every instance built (a gadget's side effect).</summary>
public sealed class Gadget
{
    public static int Built;

    public string Command
    {
        get => "";
        set => Interlocked.Increment(ref Built);
    }
}

public class SerializationSpec : NodeSpec
{
    private const string Remote = """
        akka.actor.provider = remote
        akka.remote.dot-netty.tcp { hostname = 127.0.0.1, port = 0 }
        """;

    public SerializationSpec() : base(Remote) { }

    private static LocalSavePlan SamplePlan() => new(1, 2, new[]
    {
        WriteItem.ForTensor("model.w", 1, 0, DType.BFloat16, new long[] { 8, 4 }, new TensorBox(new long[] { 4, 0 }, new long[] { 4, 4 })),
        WriteItem.ForObject("rng", 1, 1, ObjectScope.Rank, 16),
    }) { Unstaged = new[] { 0 } };

    /// <summary>The assemblies of the library (the tool's wire messages are the Cli tests' to sample: DemoProtocolSerializationSpec).</summary>
    private static readonly Assembly[] LibraryAssemblies =
        { typeof(WriteItem).Assembly, typeof(CheckpointStore).Assembly, typeof(IActorCkptMessage).Assembly };

    /// <summary>Every wire message type of the library: the non-abstract types marked <see cref="IActorCkptMessage"/>.</summary>
    private static IReadOnlyList<Type> WireMessageTypes() => LibraryAssemblies.SelectMany(a => a.GetTypes())
        .Where(t => !t.IsAbstract && !t.IsInterface && typeof(IActorCkptMessage).IsAssignableFrom(t))
        .OrderBy(t => t.FullName, StringComparer.Ordinal).ToArray();

    /// <summary>
    /// A sample of every wire message type, keyed by type; a new wire type without one fails
    /// <see cref="Every_wire_message_type_should_have_a_sample"/>. Values differ from their
    /// defaults, so a field the wire loses shows.
    /// </summary>
    private IReadOnlyDictionary<Type, IActorCkptMessage> Samples()
    {
        var plan = SamplePlan();
        var file = new FileWritePlan("r00001-000-abcd.safetensors", 1, 2, plan.Items, "akka.tcp://ckpt@10.0.0.2:4053");
        var result = new FileWriteResult(file.FileName, 400, new[] { new WrittenItem("model.w@4,0", new StoredBytes(file.FileName, 64, 32, 4096, new ulong[] { 42, 7 })) });
        var id = Guid.NewGuid();
        var source = Source.Single(new TransferChunk(3, 128, new byte[] { 1, 2, 3 }, 99)).RunWith(StreamRefs.SourceRef<TransferChunk>(), Sys.Materializer())
            .Result;
        var entry = new CatalogEntry(3, CheckpointStatus.Committed, id, 2, "step-00000003", DateTimeOffset.UnixEpoch.AddDays(1),
            DateTimeOffset.UnixEpoch.AddDays(2), 4, 1000, "00ff00ff00ff00ff", "kept", 2);
        IActorCkptMessage[] samples =
        {
            // Planner protocol.
            new RegisterWriters([TestActor], "0123456789abcdef0123456789abcdef"),
            new ListWriters(),
            new WritersListed(new[] { TestActor, TestActor }, "0123456789abcdef0123456789abcdef"),
            new WritersRefused("the writers of akka.tcp://a@h:1 write to another checkpoint root"),
            new LocalPlanAccepted(3),
            new ReassignWrite(3, id, file.FileName, TestActor, 1),
            new WriteReassigned(3, id, new WriteAssignment(file, TestActor, TransferToken.New())),
            SubmitLocalPlan.Of(3, plan, SaveTier.MemoryAndDisk),
            new AbortSave(3, 1, 2),
            new AssignWrites(3, id, new[] { new WriteAssignment(file, TestActor, TransferToken.New(), 1) }, StorageTier.Memory),
            new ReportWrites(3, id, 1, new[] { result }, new[] { "'x': boom" }, new[] { new ReplicaAck(file.FileName, 1, result) }),
            new CheckpointCommitted(3, new SaveSummary(3, 2, 1000)),
            new CheckpointAborted(3, "ranks 1 did not send their plan"),
            new AcquireLoadLease(id, 3, Renew: true, StorageTier.Memory, "node-1"),
            new LoadLeaseGranted(id, 3, "00ff00ff00ff00ff", StorageTier.Memory,
                new[] { new FileHolders(file.FileName, new[] { new HolderNode("node-1", "akka.tcp://sys@127.0.0.1:4053") }) }, new[] { "step 4: not loadable from memory" }),
            new ReplicaRefused(3, file.FileName, "node-1", "checksum mismatch in block 0"),
            new LoadLeaseRefused(id, "step 3 was deleted"),
            new ReleaseLoadLease(3),
            new CollectGarbage(),
            new GarbageCollected(new long[] { 1 }, new long[] { 2 }, new[] { "step 2: denied" }),
            new ReadCatalog(),
            new ResolveLatestStep("host-a"),
            new LatestStepResolved(12, FromCatalog: true),
            new CatalogRead(new[]
            {
                entry, entry with { Step = 4, Status = CheckpointStatus.Aborted, StartedAt = null },
                entry with
                {
                    Step = 5, Tier = StorageTier.Memory, Persisted = true,
                    // Collection expressions: their compiler-made lists are no wire type, so the records keep arrays.
                    Memory = new MemoryCopies(["node-0", "node-1"], [new ShardHolders("r00000-000-0a.safetensors", 0, [0, 1], [1])], "00000000000000aa") with { Shards = [new ShardHolders("r00000-000-0a.safetensors", 0, [0, 1], [1])] },
                },
            }),
            new AgreeQueueEmpty(5, 1, 2, LocallyEmpty: true),
            new QueueEmptyAgreed(5, Empty: true),
            new WithdrawQueueVote(5, 1),
            new QueueVoteWithdrawn(5, new[] { 0, 2 }),
            new QueueQuestionRefused(5, "rank 1 asked whether every save queue is empty in a world of 3 ranks, and rank(s) 0 in one of 2"),
            // Writer protocol.
            new WriteFileStreamed(3, id, file, TestActor, 2, TransferToken.New(), 1, StorageTier.Memory),
            new StreamFile(id, file.FileName, TestActor, "10.0.0.2:41234", 2, 1),
            new StreamFilePushed(file.FileName, "bulk channel: 10.0.0.2:41234 refused the push: transfer token 0123abcd… was already used", 1),
            new StreamFileSuccess(source),
            new StreamFileFailure("the save moved on"),
            new ResendWrite(3, id, file.FileName, TestActor, 2, 1),
            new TransferChunk(1, 65536, new byte[] { 1, 2, 3 }, 42),
            new WriteFileSuccess(3, id, result, 2, 1),
            new WriteFileFailure(3, id, file.FileName, 4, "IOException: disk full", 1),
            // Reader protocol.
            new ReadRange(3, file.FileName, 64, 32, 65536, StorageTier.Memory),
            new ReadRanges(3, new[] { new WantedRange(file.FileName, 64, 32, 65536), new WantedRange("r00001-000-0a.safetensors", 0, 1) }, StorageTier.Memory),
            new ReadRangeStreamed(source),
            new ReadRangeOffered("10.0.0.3:40001", TransferToken.New()),
            new ReadRangeFailure("'step-00000003/x' has 10 bytes", Damaged: true),
            // Replica holder protocol.
            new RegisterHolder("node-1", TestActor, 1L << 30, new[] { new HeldReplica(3, id, 1, file.FileName, 4096 + 400, result) }),
            new ListHeldReplicas(),
            new HolderScanning("node-1", TestActor),
            new HolderScanFailed("node-1", TestActor, "IOException: access denied"),
            new DropReplicas(3, new[] { file.FileName }, "evicted", Recycle: true),
            new ReplicasDropped("node-1", 3, 4496),
            new DropReplicasFailure("node-1", 3, "host 'node-1': access denied"),
            new ReportReplicaUsage(),
            new ReplicaUsageReported("node-1", 4496, 1L << 20, 1L << 32, SpareBytes: 8192),
            new ReportReplicaUsageFailure("node-1", "statfs failed"),
            new CopyReplica(3, file.FileName, TestActor),
            new ReplicaCopied(3, file.FileName, "node-2", 4096 + 400),
            new ReplicaCopyFailure(3, file.FileName, "node-2", "host 'node-2': copying 'x' of step 3 from akka.tcp://a@h:1: the peer went away"),
            new ReadReplicaHeader(3, file.FileName),
            new ReplicaHeaderRead(new ReplicaHeader(3, id, 1, file.FileName, result.Length, 4096, result)),
            new ReadReplicaHeaderFailure("host 'node-1': 'x' of step 3: not found"),
            new PersistReplica(3, id, file, result),
            new PersistReplicaSuccess(3, file.FileName, "node-1"),
            new PersistReplicaFailure(3, file.FileName, "node-1", "item 'w' block 0 has checksum 01, expected 02", Corrupt: true),
            new ListHolders(),
            new HoldersListed(new[] { "node-0", "node-1" }),
            // Object tier protocol.
            new UploadStep(4, id, "00ff00ff00ff00ff"),
            new UploadStepSuccess(4, id, "s3://bucket/job", "00ff00ff00ff00ff", 3, 4096, TimeSpan.FromSeconds(2.5), AlreadyThere: true),
            new UploadStepFailure(4, id, "not done within 01:00:00"),
            new FindUploads(new long[] { 2, 4 }, new long[] { 5, 6 }),
            new UploadsFound("az://container/job", new[] { new FoundUpload(6, "00ff00ff00ff00ff", 2, 100) }, "listing failed"),
            AwaitUploads.Instance,
            new DeleteUpload(4),
            UploadsIdle.Instance,
            AwaitPersists.Instance,
            PersistsIdle.Instance,
        };
        return samples.ToDictionary(m => m.GetType());
    }

    [Fact]
    public void Every_wire_message_type_should_have_a_sample()
    {
        var found = WireMessageTypes();

        Assert.Empty(found.Except(Samples().Keys).Select(t => t.FullName));
        // The filter finds the same types by itself (it also finds the tool's, when present).
        Assert.Empty(found.Except(WireTypes.Messages).Select(t => t.FullName));
    }

    [Fact]
    public void Every_wire_message_should_use_the_actorckpt_serializer_and_round_trip()
    {
        foreach (var message in Samples().Values)
        {
            var serializer = Sys.Serialization.FindSerializerFor(message);
            Assert.IsType<ActorCkptSerializer>(serializer);

            var copy = serializer.FromBinary(serializer.ToBinary(message), message.GetType());

            Assert.IsType(message.GetType(), copy);
            if (message.GetType().GetProperties().Length > 0) Assert.NotSame(message, copy);
            Assert.Equal(Describe(message), Describe(copy));
        }
    }

    /// <summary>
    /// A structural description of a value: records hold arrays and lists, which compare by
    /// reference; actor references compare by path, StreamRefs by the actor they point at.
    /// </summary>
    private static string Describe(object? value) => value switch
    {
        null => "null",
        IActorRef actor => "actor " + actor.Path,
        string text => '"' + text + '"',
        DateTimeOffset time => time.ToString("O", CultureInfo.InvariantCulture),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        bool or Enum => value.ToString()!,
        System.Collections.IEnumerable items => "[" + string.Join(", ", items.Cast<object?>().Select(Describe)) + "]",
        _ when value.GetType().Namespace?.StartsWith("Akka", StringComparison.Ordinal) == true =>
            value.GetType().Name + " " + string.Join(", ", value.GetType().GetProperties().Where(p => p.PropertyType == typeof(IActorRef)).Select(p => Describe(p.GetValue(value)))),
        _ => value.GetType().Name + " { " + string.Join(", ", value.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0).Select(p => p.Name + " = " + Describe(p.GetValue(value)))) + " }",
    };

    [Fact]
    public void Messages_that_never_leave_their_process_should_have_no_serializer()
    {
        var handle = new SaveHandle(1, 0);
        object[] local =
        {
            new SaveShard(1, new RankState(0, 1), handle),
            new CancelSave(handle),
            new LoadShard(1, null),
            new LoadShardSuccess(new LoadResult(1, 1, new Dictionary<string, byte[]>(), Array.Empty<string>(), Array.Empty<string>(), 0)),
            new LoadShardFailure(new IOException("boom")),
            new WriteFile(1, Guid.NewGuid(), new FileWritePlan("f", 0, 0, Array.Empty<WriteItem>()), Array.Empty<ReadOnlyMemory<byte>>(), TestActor),
        };

        foreach (var message in local)
        {
            Assert.IsNotAssignableFrom<IActorCkptMessage>(message);
            // Strict serialization (no fallback serializer): sent to another node, it fails on this side, naming its type.
            var e = Assert.Throws<SerializationException>(() => Sys.Serialization.FindSerializerFor(message));
            Assert.Contains(message.GetType().Name, e.Message);
        }
    }

    [Fact]
    public void A_type_outside_the_allow_list_should_be_refused()
    {
        var message = new UnlistedMessage("hello");
        var serializer = Sys.Serialization.FindSerializerFor(message);

        var e = Assert.ThrowsAny<Exception>(() => serializer.FromBinary(serializer.ToBinary(message), typeof(UnlistedMessage)));

        Assert.Contains("ActorCkpt.Actors.Tests.UnlistedMessage", e.Message);
        Assert.False(MessageTypeFilter.Instance.IsAllowed("System.IO.FileInfo, System.Private.CoreLib"));
        Assert.False(MessageTypeFilter.Instance.IsAllowed("ActorCkpt.Evil.Payload, Evil"));
        Assert.False(MessageTypeFilter.Instance.IsAllowed("System.Collections.Generic.List`1[[System.Diagnostics.Process, System.Diagnostics.Process]], System.Private.CoreLib"));
        Assert.True(MessageTypeFilter.Instance.IsAllowed("System.Collections.Generic.List`1[[ActorCkpt.WriteItem, ActorCkpt.Planner]], System.Private.CoreLib"));
        Assert.True(MessageTypeFilter.Instance.IsAllowed("ActorCkpt.WriteItem[], ActorCkpt.Planner"));
        // As Hyperion writes it: the core library with its cross-runtime marker.
        Assert.True(MessageTypeFilter.Instance.IsAllowed("System.Collections.Generic.List`1[[ActorCkpt.WriteItem, ActorCkpt.Planner]], System.Private.CoreLib,%core%"));
        // A generic argument without its assembly, a listed name from another assembly, an
        // ActorCkpt name from a foreign assembly, a pointer: all refused.
        Assert.False(MessageTypeFilter.Instance.IsAllowed("System.Collections.Generic.List`1[System.Version], System.Private.CoreLib"));
        Assert.False(MessageTypeFilter.Instance.IsAllowed("System.Collections.Generic.List`1[[System.Version, System.Private.CoreLib]], System.Private.CoreLib"));
        Assert.False(MessageTypeFilter.Instance.IsAllowed("System.String, Evil"));
        Assert.False(MessageTypeFilter.Instance.IsAllowed("ActorCkpt.WriteItem, ActorCkpt.Evil"));
        Assert.False(MessageTypeFilter.Instance.IsAllowed("System.Int64*, System.Private.CoreLib"));
        Assert.False(MessageTypeFilter.Instance.IsAllowed("ActorCkpt.WriteItem"));
    }

    [Fact]
    public void A_project_type_no_wire_message_carries_should_be_refused()
    {
        // Serializable, from the project's own assembly, named ActorCkpt.*: but no wire message carries it.
        var stray = new StateObject(new byte[] { 1, 2 }, ObjectScope.Rank);
        var serializer = new ActorCkptSerializer((ExtendedActorSystem)Sys);

        var e = Assert.ThrowsAny<Exception>(() => serializer.FromBinary(serializer.ToBinary(stray), typeof(StateObject)));

        Assert.Contains("ActorCkpt.StateObject", e.Message);
        // In-process messages, a rank's state, the store: refused; what wire messages carry (enums included): admitted.
        Assert.False(MessageTypeFilter.Instance.IsAllowed("ActorCkpt.SaveShard, ActorCkpt.Actors"));
        Assert.False(MessageTypeFilter.Instance.IsAllowed("ActorCkpt.WriteFile, ActorCkpt.Actors"));
        Assert.False(MessageTypeFilter.Instance.IsAllowed("ActorCkpt.RankState, ActorCkpt.Actors"));
        Assert.False(MessageTypeFilter.Instance.IsAllowed("ActorCkpt.CheckpointStore, ActorCkpt.Io"));
        Assert.False(MessageTypeFilter.Instance.IsAllowed("ActorCkpt.SaveStarted, ActorCkpt.Planner"));
        Assert.True(MessageTypeFilter.Instance.IsAllowed("ActorCkpt.CatalogEntry, ActorCkpt.Planner"));
        Assert.True(MessageTypeFilter.Instance.IsAllowed("ActorCkpt.CheckpointStatus, ActorCkpt.Planner"));
        Assert.True(MessageTypeFilter.Instance.IsAllowed("ActorCkpt.StoredBytes, ActorCkpt.Planner"));
        Assert.True(MessageTypeFilter.Instance.IsAllowed("ActorCkpt.WriteAssignment, ActorCkpt.Actors"));
        Assert.True(MessageTypeFilter.Instance.IsAllowed("ActorCkpt.SaveSummary, ActorCkpt.Actors"));
    }

    [Fact]
    public async Task A_write_report_of_a_16_GiB_shard_should_cross_the_wire_between_nodes_configured_as_shipped()
    {
        // One checksum per MiB block: 16,384 of them, over Akka.Remote's default 128,000-byte frame,
        // above which a message is dropped with only a log line (the save then failed at its write deadline).
        var sums = Enumerable.Range(0, 64).Select(i => (ulong)i * 0x9E3779B97F4A7C15UL).ToArray();
        var items = Enumerable.Range(0, 256).Select(i => new WrittenItem($"layers.{i}.w", new StoredBytes("r0.safetensors", 4096 + (64L << 20) * i, 64L << 20, 1 << 20, sums))).ToArray();
        var report = new ReportWrites(3, Guid.NewGuid(), 17, new[] { new FileWriteResult("r0.safetensors", 256 * (64L << 20), items) }, Array.Empty<string>());
        Assert.InRange(Sys.Serialization.FindSerializerFor(report).ToBinary(report).Length, 128_001, int.MaxValue);

        var shipped = ConfigurationFactory.ParseString(Remote + "\n" + TestConfig).WithFallback(ActorCkptConfig.Cluster).WithFallback(ActorCkptConfig.Defaults);
        var (a, b) = (ActorSystem.Create("a", shipped), ActorSystem.Create("b", shipped));
        try
        {
            var received = new TestProbe(b, new XunitAssertions());
            b.ActorOf(Props.Create(() => new ForwardActor(received.Ref)), "planner");
            a.ActorSelection(new RootActorPath(((ExtendedActorSystem)b).Provider.DefaultAddress) / "user" / "planner").Tell(report);

            var arrived = received.ExpectMsg<ReportWrites>(Patience);
            Assert.Equal(items.Length, arrived.Results[0].Items.Count);
            Assert.Equal(sums, arrived.Results[0].Items[^1].Bytes.BlockChecksums);
        }
        finally
        {
            await Task.WhenAll(a.Terminate(), b.Terminate()).WaitAsync(Patience);
        }
    }

    [Fact]
    public async Task A_stranger_should_not_make_a_node_build_a_type_through_the_catch_all_json_serializer()
    {
        // The stranger: a plain Akka system (its catch-all JSON serializer on) that knows the node's address.
        var shipped = ConfigurationFactory.ParseString(Remote + "\n" + TestConfig).WithFallback(ActorCkptConfig.Cluster).WithFallback(ActorCkptConfig.Defaults);
        var (stranger, node) = (ActorSystem.Create("stranger", ConfigurationFactory.ParseString(Remote + "\nakka.loglevel = WARNING")), ActorSystem.Create("node", shipped));
        try
        {
            var received = new TestProbe(node, new XunitAssertions());
            node.ActorOf(Props.Create(() => new ForwardActor(received.Ref)), "planner");
            var planner = stranger.ActorSelection(new RootActorPath(((ExtendedActorSystem)node).Provider.DefaultAddress) / "user" / "planner");
            Gadget.Built = 0;

            planner.Tell(new Dictionary<string, object> { ["x"] = new Gadget { Command = "rm -rf /" } });
            planner.Tell("after the gadget");

            // Messages of one association arrive in order: the gadget's payload was handled (refused) first.
            Assert.Equal("after the gadget", received.ExpectMsg<string>(Patience));
            Assert.Equal(1, Gadget.Built); // the stranger's own, when it built the message
        }
        finally
        {
            await Task.WhenAll(stranger.Terminate(), node.Terminate()).WaitAsync(Patience);
        }
    }

    [Fact]
    public void A_message_of_another_builds_wire_types_should_be_refused_not_misread()
    {
        var serializer = new ActorCkptSerializer((ExtendedActorSystem)Sys);
        var bytes = serializer.ToBinary(new AgreeQueueEmpty(4, 1, 5, true));
        Assert.Equal(new AgreeQueueEmpty(4, 1, 5, true), serializer.FromBinary(bytes, typeof(AgreeQueueEmpty)));

        // Hyperion writes fields without names: a field added by another build shifts every value after it.
        var added = WireProtocol.Fingerprint([("ActorCkpt.AgreeQueueEmpty", [("<Round>k__BackingField", "System.Int64"), ("<Attempt>k__BackingField", "System.Int64")])]);
        Assert.NotEqual(WireProtocol.Fingerprint([("ActorCkpt.AgreeQueueEmpty", [("<Round>k__BackingField", "System.Int64")])]), added);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bytes, added);

        var e = Assert.Throws<System.Runtime.Serialization.SerializationException>(() => serializer.FromBinary(bytes, typeof(AgreeQueueEmpty)));
        Assert.Equal($"a message of another ActorCkpt build (wire protocol {added:x8}; this node's {WireProtocol.Current:x8}) is refused: " +
                     "every node of a cluster must run the same ActorCkpt version", e.Message);
    }

    [Fact]
    public async Task Messages_should_cross_the_wire_between_actor_systems_and_unlisted_ones_should_not()
    {
        var other = ActorSystem.Create("other", ConfigurationFactory.ParseString(Remote + "\n" + TestConfig).WithFallback(ActorCkptConfig.Defaults));
        try
        {
            var received = new TestProbe(other, new XunitAssertions());
            other.ActorOf(Props.Create(() => new ForwardActor(received.Ref)), "inbox");
            var address = ((ExtendedActorSystem)other).Provider.DefaultAddress;
            // Resolved from this system by path: every message goes through serialization and the network.
            var inbox = Sys.ActorSelection(new RootActorPath(address) / "user" / "inbox");
            var sent = SubmitLocalPlan.Of(9, SamplePlan());

            inbox.Tell(new UnlistedMessage("must not arrive"), TestActor);
            inbox.Tell(sent, TestActor);

            var arrived = received.ExpectMsg<SubmitLocalPlan>(Patience);
            Assert.NotSame(sent, arrived);
            Assert.Equal(new long[] { 4, 0 }, arrived.Plan.Items[0].Box.Offsets);
            Assert.Equal(DType.BFloat16, arrived.Plan.Items[0].DType);
            Assert.Equal(new[] { 0 }, arrived.Plan.Unstaged);
            // The sender travelled as a surrogate and resolves to a working reference back here.
            received.LastSender.Tell(new CheckpointAborted(9, "reply over the wire"));
            Assert.Equal("reply over the wire", ExpectMsg<CheckpointAborted>(Patience).Reason);
        }
        finally
        {
            await other.Terminate().WaitAsync(Patience);
        }
    }
}
