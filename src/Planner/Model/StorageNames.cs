namespace ActorCkpt;

/// <summary>
/// The names items carry inside a safetensors data file: a whole tensor by its key, a part by its
/// key and the offsets of its box in the global tensor ("w@0,512"), a non-tensor entry under a
/// reserved prefix. Writers name items by these rules and readers check names against them, so a
/// name also says where its chunk belongs.
/// </summary>
internal static class StorageNames
{
    /// <summary>The name of the chunk <paramref name="box"/> of tensor <paramref name="key"/>, whose shape is <paramref name="globalShape"/>.</summary>
    public static string Chunk(string key, TensorBox box, IReadOnlyList<long> globalShape) =>
        box.IsWhole(globalShape) ? key : key + "@" + string.Join(",", box.Offsets);

    /// <summary>The name of entry <paramref name="key"/>: per rank under the rank's own prefix, global under the common one.</summary>
    public static string Entry(string key, ObjectScope scope, int rank) =>
        scope == ObjectScope.Rank ? $"{EntryPrefix}rank{rank}/{key}" : $"{EntryPrefix}{key}";

    /// <summary>The prefix of every entry's name.</summary>
    public const string EntryPrefix = "__object__/";

    /// <summary>The name a safetensors header keeps for its string-to-string map.</summary>
    public const string HeaderMetadata = "__metadata__";

    /// <summary>
    /// Why tensor <paramref name="key"/> cannot be stored under these rules beside the tensors for
    /// which <paramref name="isTensor"/> holds (its name would be reserved, or a part's of another
    /// tensor, which readers would take for that part), or null.
    /// </summary>
    public static string? Clash(string key, Func<string, bool> isTensor)
    {
        if (key == HeaderMetadata || key.StartsWith(EntryPrefix, StringComparison.Ordinal))
            return $"'{key}' is a name the data files reserve ({HeaderMetadata}, {EntryPrefix}...): rename the tensor";
        for (var at = key.IndexOf('@'); at >= 0; at = key.IndexOf('@', at + 1))
            if (isTensor(key[..at]))
                return $"'{key}' would be stored under the name of a part of tensor '{key[..at]}' ('{key[..at]}@offsets'): rename one of them";
        return null;
    }
}
