using Akka.Actor;
using Akka.Serialization;
using Akka.Util;
using Hyperion;

namespace ActorCkpt;

/// <summary>
/// Serializes ActorCkpt's control messages (<see cref="IActorCkptMessage"/>) with Hyperion, for
/// the wire between nodes. Actor references travel as Akka surrogates (their paths) and are
/// resolved on arrival; only types admitted by <see cref="MessageTypeFilter"/> are ever
/// instantiated. Every payload starts with the build's <see cref="WireProtocol"/> fingerprint: a
/// message of another build is refused, not misread. Bound in hocon/reference.conf. Tensor bytes
/// never travel this way (the bulk channel, or StreamRefs in small chunks).
/// </summary>
internal sealed class ActorCkptSerializer : Akka.Serialization.Serializer
{
    private readonly Hyperion.Serializer _hyperion;

    /// <summary>Creates the serializer for <paramref name="system"/> (called by Akka).</summary>
    public ActorCkptSerializer(ExtendedActorSystem system) : base(system)
    {
        var surrogates = new[]
        {
            Surrogate.Create<ISurrogated, ISurrogate>(from => from.ToSurrogate(system), to => to.FromSurrogate(system)),
        };
        var options = SerializerOptions.Default
            .WithPreserveObjectReferences(false)
            .WithVersionTolerance(false)
            .WithSurrogates(surrogates)
            .WithDisallowUnsafeType(true)
            .WithTypeFilter(MessageTypeFilter.Instance);
        _hyperion = new Hyperion.Serializer(options);
    }

    /// <summary>Identifier of this serializer in the wire format (registered in hocon/reference.conf).</summary>
    public override int Identifier => 8412;

    /// <inheritdoc />
    public override bool IncludeManifest => false;

    /// <inheritdoc />
    public override byte[] ToBinary(object obj)
    {
        using var stream = new MemoryStream();
        Span<byte> protocol = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(protocol, WireProtocol.Current);
        stream.Write(protocol);
        _hyperion.Serialize(obj, stream);
        return stream.ToArray();
    }

    /// <inheritdoc />
    /// <exception cref="System.Runtime.Serialization.SerializationException">The payload is of another build's wire types.</exception>
    public override object FromBinary(byte[] bytes, Type type)
    {
        var theirs = bytes.Length < 4 ? 0 : System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(bytes);
        if (bytes.Length < 4 || theirs != WireProtocol.Current)
            throw new System.Runtime.Serialization.SerializationException(
                $"a message of another ActorCkpt build (wire protocol {theirs:x8}; this node's {WireProtocol.Current:x8}) is refused: every node of a cluster must run the same ActorCkpt version");
        using var stream = new MemoryStream(bytes, 4, bytes.Length - 4);
        return _hyperion.Deserialize(stream);
    }
}
