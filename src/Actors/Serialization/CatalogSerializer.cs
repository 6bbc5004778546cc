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
        ["replicas-added.v1"] = typeof(ReplicasAdded),
        ["step-persisted.v1"] = typeof(StepPersisted),
        ["replicas-evicted.v1"] = typeof(ReplicasEvicted),
        ["step-uploaded.v1"] = typeof(StepUploaded),
        ["upload-deleted.v1"] = typeof(UploadDeleted),
        ["catalog-opened.v1"] = typeof(CatalogOpened),
        ["catalog-snapshot.v1"] = typeof(CatalogSnapshot),
        [SnapshotWithTiers] = typeof(CatalogSnapshot),
    };

    /// <summary>
    /// A snapshot holding a step that is not a plain disk step (in memory, or with an object copy). Its own manifest, so that a build that
    /// knows no tiers refuses it rather than read memory steps as disk steps (and let its retention
    /// delete the disk steps they would hide); a disk-only snapshot stays v1, readable by any build.
    /// </summary>
    private const string SnapshotWithTiers = "catalog-snapshot.v2";

    private static readonly Dictionary<Type, string> Manifests = Types.Where(p => p.Key != SnapshotWithTiers).ToDictionary(p => p.Value, p => p.Key);

    /// <inheritdoc />
    public override int Identifier => 8413;

    /// <inheritdoc />
    public override string Manifest(object o) =>
        o is CatalogSnapshot s && s.Entries.Any(e => e.Tier != StorageTier.Disk || e.Persisted || e.Memory is not null || e.Uploaded is not null) ? SnapshotWithTiers
        : Manifests.TryGetValue(o.GetType(), out var m) ? m : throw new ArgumentException($"{o.GetType()} is not a catalog record", nameof(o));

    /// <inheritdoc />
    public override byte[] ToBinary(object obj) => JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType());

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, string manifest) => Decode(bytes, manifest);

    /// <summary>
    /// The catalog record <paramref name="manifest"/> names, from its <paramref name="bytes"/>: what <see cref="FromBinary"/> gives, without an actor system.
    /// A record of a negative step is refused as damaged here: the catalog's readers failed on it later, naming neither the catalog nor the repair.
    /// </summary>
    public static object Decode(byte[] bytes, string manifest)
    {
        var record = Types.TryGetValue(manifest, out var type)
            ? JsonSerializer.Deserialize(bytes, type) ?? throw new SerializationException($"catalog record '{manifest}' is null")
            : throw new SerializationException($"unknown catalog record '{manifest}': written by a newer ActorCkpt?");
        var step = record switch
        {
            ICatalogEvent e => e.Step,
            CatalogSnapshot s => s.Entries.Select(e => e.Step).DefaultIfEmpty(0).Min(),
            _ => 0,
        };
        return step >= 0 ? record : throw new SerializationException($"catalog record '{manifest}' is of step {step}: steps are non-negative");
    }
}
