using System.Runtime.Serialization;
using Akka.Actor;

namespace ActorCkpt;

/// <summary>
/// Takes the place of Akka's catch-all JSON serializer (identifier 1) on the nodes ActorCkpt starts
/// itself (hocon/cluster.conf; a host's own system keeps its serializers). That serializer builds any
/// type a payload names (Newtonsoft's <c>$type</c>, with no filter), and a node picks the serializer by
/// the identifier the sender chose: a stranger on the remoting port could make a node instantiate
/// types no wire message carries. ActorCkpt's messages have serializers of their own, and Akka's
/// internal ones too; nothing is left for this one to carry, and what comes for it is refused.
/// </summary>
internal sealed class RefusingSerializer : Akka.Serialization.Serializer
{
    /// <summary>Created by Akka.</summary>
    public RefusingSerializer(ExtendedActorSystem system) : base(system)
    {
    }

    /// <summary>Created by Akka, with the settings section it keeps for the JSON serializer (unused).</summary>
    public RefusingSerializer(ExtendedActorSystem system, Akka.Configuration.Config settings) : base(system)
    {
    }

    /// <summary>The identifier of Akka's JSON serializer, whose payloads this refuses.</summary>
    public override int Identifier => 1;

    /// <inheritdoc />
    public override bool IncludeManifest => false;

    /// <inheritdoc />
    public override byte[] ToBinary(object obj) =>
        throw new SerializationException($"{obj.GetType()} has no serializer of its own on an ActorCkpt node, and the catch-all JSON serializer is off there");

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, Type type) =>
        throw new SerializationException("a payload for the catch-all JSON serializer is refused on an ActorCkpt node: no wire message of this cluster uses it");
}
