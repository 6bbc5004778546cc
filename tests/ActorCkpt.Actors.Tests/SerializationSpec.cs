using Akka.Actor;
using Akka.Configuration;
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

    private IEnumerable<IActorCkptMessage> WireMessages()
    {
        var plan = SamplePlan();
        var file = new FileWritePlan("r00001-000-abcd.safetensors", 1, 0, plan.Items);
        var result = new FileWriteResult(file.FileName, 400, new[] { new WrittenItem("model.w@4,0", new StoredBytes(file.FileName, 64, 32, 4096, new ulong[] { 42 })) });
        var id = Guid.NewGuid();
        yield return new RegisterWriter(TestActor);
        yield return SubmitLocalPlan.Of(3, plan);
        yield return new AssignWrites(3, id, new[] { new WriteAssignment(file, TestActor) });
        yield return new ReportWrites(3, id, 1, new[] { result }, new[] { "'x': boom" });
        yield return new CheckpointCommitted(3, new SaveSummary(3, 2, 1000));
        yield return new CheckpointAborted(3, "ranks 1 did not send their plan");
        yield return new AbortSave(3, 1, 2);
        yield return new WriteFileSuccess(3, id, result, 2);
        yield return new WriteFileFailure(3, id, file.FileName, 4, "IOException: disk full");
    }

    [Fact]
    public void Every_wire_message_should_use_the_actorckpt_serializer_and_round_trip()
    {
        foreach (var message in WireMessages())
        {
            var serializer = Sys.Serialization.FindSerializerFor(message);
            Assert.IsType<ActorCkptSerializer>(serializer);

            var copy = serializer.FromBinary(serializer.ToBinary(message), message.GetType());

            Assert.NotSame(message, copy);
            Assert.Equal(System.Text.Json.JsonSerializer.Serialize(Describe(message)), System.Text.Json.JsonSerializer.Serialize(Describe(copy)));
        }
    }

    /// <summary>A structural description (records hold arrays, which compare by reference).</summary>
    private static object Describe(object message) => message switch
    {
        SubmitLocalPlan m => new { m.Step, m.Plan.Rank, m.Plan.WorldSize, m.Plan.Unstaged, m.Fingerprint, Items = m.Plan.Items.Select(i => (i.Key, i.StorageName, i.ByteLength, i.Box.ToString(), i.Scope.ToString())).ToArray() },
        AssignWrites m => new { m.Step, m.SaveId, Files = m.Files.Select(f => (f.File.FileName, f.Writer.Path.ToString(), f.File.Items.Count)).ToArray() },
        ReportWrites m => new { m.Step, m.SaveId, m.Rank, m.Failures, Items = m.Results.SelectMany(r => r.Items).Select(i => (i.StorageName, i.Bytes.Offset, i.Bytes.BlockChecksums[0])).ToArray() },
        WriteFileSuccess m => new { m.Step, m.SaveId, m.Result.FileName, m.Result.Length, m.Attempts },
        RegisterWriter m => new { Path = m.Writer.Path.ToString() },
        _ => message,
    };

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
