using System.Runtime.Serialization;
using System.Text.Json;
using Akka.Actor;
using Akka.Serialization;

namespace ActorCkpt;

/// <summary>
/// Serializer of the catalog journal's events and snapshots: JSON with explicit field names and a
/// versioned manifest per type, so a journal written today is read by tomorrow's code. Never
/// Hyperion: the journal outlives the code that wrote it.
/// </summary>
internal sealed class CatalogSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    private static readonly Dictionary<string, Type> Types = new(StringComparer.Ordinal)
    {
        ["save-started.v1"] = typeof(SaveStarted),
        ["save-committed.v1"] = typeof(SaveCommitted),
        ["save-aborted.v1"] = typeof(SaveAborted),
        ["checkpoint-deleted.v1"] = typeof(CheckpointDeleted),
        ["memory-step-committed.v1"] = typeof(MemoryStepCommitted),
        ["replicas-lost.v1"] = typeof(ReplicasLost),
        ["replicas-restored.v1"] = typeof(ReplicasRestored),
        ["step-persisted.v1"] = typeof(StepPersisted),
        ["replicas-evicted.v1"] = typeof(ReplicasEvicted),
        ["catalog-snapshot.v1"] = typeof(CatalogSnapshot),
    };

    private static readonly Dictionary<Type, string> Manifests = Types.ToDictionary(p => p.Value, p => p.Key);

    /// <inheritdoc />
    public override int Identifier => 8413;

    /// <inheritdoc />
    public override string Manifest(object o) =>
        Manifests.TryGetValue(o.GetType(), out var m) ? m : throw new ArgumentException($"{o.GetType()} is not a catalog record", nameof(o));

    /// <inheritdoc />
    public override byte[] ToBinary(object obj) => JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType());

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, string manifest) => Decode(bytes, manifest);

    /// <summary>The catalog record <paramref name="manifest"/> names, from its <paramref name="bytes"/>: what <see cref="FromBinary"/> gives, without an actor system.</summary>
    public static object Decode(byte[] bytes, string manifest) =>
        Types.TryGetValue(manifest, out var type)
            ? JsonSerializer.Deserialize(bytes, type) ?? throw new SerializationException($"catalog record '{manifest}' is null")
            : throw new SerializationException($"unknown catalog record '{manifest}': written by a newer ActorCkpt?");
}
