using System.Text.Json.Serialization;

namespace ActorCkpt;

/// <summary>What the catalog knows of a step's memory tier: the metadata, and who holds each data file.</summary>
/// <param name="Hosts">The hosts (failure domains) holding copies, each once; <see cref="ShardHolders"/> refer to them by index.</param>
/// <param name="Shards">Every data file of the step and its holders.</param>
/// <param name="MetadataChecksum">xxHash3-64 of the memory step's metadata document, as 16 hex digits.</param>
/// <param name="Evicted">The copies were released (budget or retention): the step no longer loads from memory.</param>
public sealed record MemoryCopies(
    IReadOnlyList<string> Hosts,
    IReadOnlyList<ShardHolders> Shards,
    [property: JsonPropertyName("metadata_checksum")] string MetadataChecksum,
    [property: JsonPropertyName("evicted")] bool Evicted = false)
{
    // Arrays, whatever the caller passed: an entry travels in wire messages, where only known collection types may.

    /// <summary>The hosts holding copies, each once; <see cref="ShardHolders"/> refer to them by index.</summary>
    [JsonPropertyName("hosts")]
    public IReadOnlyList<string> Hosts { get; init => field = value.ToArray(); } = Hosts.ToArray();

    /// <summary>Every data file of the step and its holders.</summary>
    [JsonPropertyName("shards")]
    public IReadOnlyList<ShardHolders> Shards { get; init => field = value.ToArray(); } = Shards.ToArray();

    /// <summary>
    /// Whether every data file still has a copy the catalog does not know to be lost: the catalog's
    /// view only; whether those hosts are up right now is the planner's to judge.
    /// </summary>
    [JsonIgnore]
    public bool Loadable => !Evicted && Shards.All(s => s.Held);

    /// <summary>These copies with <paramref name="host"/>'s copies of <paramref name="files"/> (null: all it holds) marked lost, or not, when <paramref name="lost"/> is false.</summary>
    internal MemoryCopies WithLost(string host, IReadOnlyCollection<string>? files, bool lost)
    {
        var h = IndexOf(host);
        if (h < 0) return this;
        var shards = Shards.Select(s =>
        {
            if (!s.Holders.Contains(h) || (files is not null && !files.Contains(s.File)) || s.Lost.Contains(h) == lost) return s;
            var marks = lost ? s.Lost.Append(h).Order().ToArray() : s.Lost.Where(x => x != h).ToArray();
            return s with { Lost = marks };
        }).ToArray();
        return this with { Shards = shards };
    }

    /// <summary>
    /// These copies with <paramref name="host"/> holding <paramref name="files"/> too (added to
    /// <see cref="Hosts"/> when new); a file it already holds is marked held again, one not of the step is ignored.
    /// </summary>
    internal MemoryCopies WithAdded(string host, IReadOnlyCollection<string> files)
    {
        var hosts = IndexOf(host) < 0 ? Hosts.Append(host).ToArray() : Hosts.ToArray();
        var h = Array.IndexOf(hosts, host);
        var shards = Shards.Select(s => !files.Contains(s.File) ? s
            : s with { Holders = s.Holders.Contains(h) ? s.Holders : s.Holders.Append(h).ToArray(), Lost = s.Lost.Where(x => x != h).ToArray() }).ToArray();
        return this with { Hosts = hosts, Shards = shards };
    }

    /// <summary>The index of <paramref name="host"/> in <see cref="Hosts"/>, or -1.</summary>
    internal int IndexOf(string host)
    {
        for (var i = 0; i < Hosts.Count; i++)
            if (string.Equals(Hosts[i], host, StringComparison.Ordinal)) return i;
        return -1;
    }

    /// <inheritdoc />
    public bool Equals(MemoryCopies? other) =>
        other is not null && Hosts.SequenceEqual(other.Hosts) && Shards.SequenceEqual(other.Shards) && MetadataChecksum == other.MetadataChecksum && Evicted == other.Evicted;

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Hosts.Count, Shards.Count, MetadataChecksum, Evicted);
}
