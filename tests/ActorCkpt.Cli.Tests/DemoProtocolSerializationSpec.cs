using System.Text.Json;
using Akka.Actor;
using ActorCkpt.Cli.Demo;

namespace ActorCkpt.Cli.Tests;

/// <summary>
/// The wire messages of the tool and the library's host assembly (the demo's driver and agents talk
/// across processes), found by reflection and round-tripped through the wire serializer, as the
/// Actors tests' SerializationSpec does for the library's (whose project cannot see the tool's).
/// </summary>
public sealed class DemoProtocolSerializationSpec : IDisposable
{
    private readonly ActorSystem _system = ActorSystem.Create("demo-wire", ActorCkptConfig.Defaults);

    /// <summary>Every wire message type of the tool's and the host's assemblies.</summary>
    private static IReadOnlyList<Type> WireMessageTypes() => new[] { typeof(DemoAgentActor).Assembly, typeof(Checkpointer).Assembly }
        .SelectMany(a => a.GetTypes())
        .Where(t => !t.IsAbstract && !t.IsInterface && typeof(IActorCkptMessage).IsAssignableFrom(t))
        .OrderBy(t => t.FullName, StringComparer.Ordinal).ToArray();

    /// <summary>A sample of every wire message type, keyed by type; values differ from their defaults.</summary>
    private static IReadOnlyDictionary<Type, IActorCkptMessage> Samples()
    {
        var model = new DemoModel(64, 12, "mixed", 7);
        IActorCkptMessage[] samples =
        {
            new PrepareDemoSave(3, 4, model),
            new DemoSavePrepared(3),
            new RunDemoSave(3, new[] { 0, 2 }, 4, model),
            new DemoSaveDone(0.25, 1.5, "rank 2: disk full", new BulkActivity(2, 1 << 20, new long[] { 1234, 2000 }, new long[] { 5678, 2500 })),
            // No step: the newest loadable one, from either tier (the memory demo's load).
            new RunDemoLoad(null, new[] { 1, 3 }, 4, model with { Layout = "sharded" }, ThroughReaders: true),
            new DemoLoadDone(0.75, new[] { "rank 1: w differs at 5" }, 4096, 5, StorageTier.Memory, 2048, "bulk channel from 127.0.0.1:5: connection closed"),
            new OpenSocketSink(1 << 30),
            new SocketSinkOpened("127.0.0.1:40123"),
            new RunSocketCopy("127.0.0.1:40123", 1 << 30),
            new SocketCopyDone(0.5, "the socket baseline's receiver closed before acknowledging"),
            new OpenChannelSink(1 << 30),
            new ChannelSinkOpened("127.0.0.1:40124", "00112233445566778899aabbccddeeff"),
            new RunChannelCopy("127.0.0.1:40124", "00112233445566778899aabbccddeeff", 1 << 30),
            new StopNode(),
        };
        return samples.ToDictionary(m => m.GetType());
    }

    [Fact]
    public void The_wire_protocol_should_be_the_same_as_in_an_application_without_the_tool()
    {
        // A user's host has the library's assemblies and not the tool's; its nodes and the tool's
        // (`actorckpt node --roles writer`) must agree on the fingerprint every payload carries.
        var library = WireTypes.ProjectAssemblies.Where(n => n != WireTypes.ToolAssembly).Select(n => System.Reflection.Assembly.Load(n)).ToArray();
        var inAnApplication = WireTypes.Discover(library);

        Assert.Equal(inAnApplication.Library, WireTypes.Library);
        Assert.Equal(WireProtocol.Fingerprint(inAnApplication.Library.Select(WireProtocol.Describe)), WireProtocol.Current);
        // Before: the tool's DemoSaveDone carried the library's BulkActivity, which no library message
        // does; it entered the tool's fingerprint, and the tool's nodes were refused by every host's.
        Assert.Contains(typeof(BulkActivity), WireTypes.All);
        Assert.DoesNotContain(typeof(BulkActivity), inAnApplication.All);
    }

    [Fact]
    public void Every_wire_message_type_of_the_tool_should_have_a_sample()
    {
        var found = WireMessageTypes();

        Assert.NotEmpty(found);
        Assert.Empty(found.Except(Samples().Keys).Select(t => t.FullName));
        // The wire's type filter finds them too: the tool's assembly is one of the project's.
        Assert.Empty(found.Except(WireTypes.Messages).Select(t => t.FullName));
    }

    [Fact]
    public void Every_wire_message_of_the_tool_should_use_the_actorckpt_serializer_and_round_trip()
    {
        foreach (var message in Samples().Values)
        {
            var serializer = _system.Serialization.FindSerializerFor(message);
            Assert.IsType<ActorCkptSerializer>(serializer);

            var copy = serializer.FromBinary(serializer.ToBinary(message), message.GetType());

            Assert.IsType(message.GetType(), copy);
            // As JSON: the records hold arrays, which compare by reference.
            Assert.Equal(JsonSerializer.Serialize(message, message.GetType()), JsonSerializer.Serialize(copy, copy.GetType()));
        }
        // Carried, not sent on its own: admitted as part of the messages that carry it.
        Assert.True(MessageTypeFilter.Instance.IsAllowed("ActorCkpt.Cli.Demo.DemoModel, actorckpt"));
        Assert.False(MessageTypeFilter.Instance.IsAllowed("ActorCkpt.Cli.Demo.SyntheticModel, actorckpt"));
    }

    /// <inheritdoc />
    public void Dispose() => _system.Terminate().Wait(TimeSpan.FromSeconds(30));
}
