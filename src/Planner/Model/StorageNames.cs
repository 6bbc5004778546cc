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
        scope == ObjectScope.Rank ? $"__object__/rank{rank}/{key}" : $"__object__/{key}";
}
