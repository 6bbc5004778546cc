using Akka.Actor;
using Akka.Serialization;
using Akka.Util;
using Hyperion;

namespace ActorCkpt;

/// <summary>
/// Serializes ActorCkpt's control messages (<see cref="IActorCkptMessage"/>) with Hyperion, for
/// the wire between nodes. Actor references travel as Akka surrogates (their paths) and are
/// resolved on arrival; only types admitted by <see cref="MessageTypeFilter"/> are ever
/// instantiated. Bound in hocon/reference.conf. Tensor bytes never travel this way: remote
/// writes stream them through StreamRefs in small chunks.
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
        _hyperion.Serialize(obj, stream);
        return stream.ToArray();
    }

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, Type type)
    {
        using var stream = new MemoryStream(bytes);
        return _hyperion.Deserialize(stream);
    }
}
