using System.Text.Json.Serialization;

namespace ActorCkpt;

/// <summary>The hosts holding one data file of a memory step.</summary>
/// <param name="File">The data file (its name in the step).</param>
/// <param name="Rank">The rank that saved it.</param>
/// <param name="Holders">Indexes into <see cref="MemoryCopies.Hosts"/>, in placement order: the rank's own host first.</param>
/// <param name="Lost">Those of <paramref name="Holders"/> whose copy is gone (the host left, or its copy was refused), ascending.</param>
public sealed record ShardHolders(
    [property: JsonPropertyName("file")] string File,
    [property: JsonPropertyName("rank")] int Rank,
    IReadOnlyList<int> Holders,
    IReadOnlyList<int> Lost)
{
    // Arrays, whatever the caller passed: an entry travels in wire messages, where only known collection types may.

    /// <summary>Indexes into <see cref="MemoryCopies.Hosts"/>, in placement order: the rank's own host first.</summary>
    [JsonPropertyName("holders")]
    public IReadOnlyList<int> Holders { get; init => field = value.ToArray(); } = Holders.ToArray();

    /// <summary>Those of <see cref="Holders"/> whose copy is gone, ascending.</summary>
    [JsonPropertyName("lost")]
    public IReadOnlyList<int> Lost { get; init => field = value.ToArray(); } = Lost.ToArray();

    /// <summary>Whether some holder's copy is not lost.</summary>
    [JsonIgnore]
    public bool Held => Holders.Any(h => !Lost.Contains(h));

    /// <inheritdoc />
    public bool Equals(ShardHolders? other) =>
        other is not null && File == other.File && Rank == other.Rank && Holders.SequenceEqual(other.Holders) && Lost.SequenceEqual(other.Lost);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(File, Rank, Holders.Count, Lost.Count);
}
