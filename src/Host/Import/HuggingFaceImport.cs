
namespace ActorCkpt;

/// <summary>
/// Starts a sharded model from a published Hugging Face checkpoint, NeMo's <c>load_base_model</c>:
/// from a directory with <c>model.safetensors.index.json</c> or a single <c>model.safetensors</c>,
/// each rank reads exactly the byte ranges of its own shards (straight into its tensors where the
/// layouts allow), with keys renamed by a regex mapping and dtypes kept unless asked otherwise.
/// No node is needed: the files are read directly.
/// </summary>
public static class HuggingFaceImport
{
    /// <summary>
    /// Fills the tensors of <paramref name="target"/> from the Hugging Face checkpoint in
    /// <paramref name="directory"/>. Throws before reading anything for a malformed directory, a
    /// shape or dtype mismatch, or mismatched keys the strictness refuses; every message names the key or file.
    /// </summary>
    public static BaseModelLoad LoadBaseModel(string directory, RankState target, BaseModelOptions? options = null)
    {
        options ??= new BaseModelOptions();
        return Load(HuggingFaceCheckpoint.Open(directory, options.KeyMapping), target, options);
    }

    /// <summary>
    /// Fills the <paramref name="parts"/> of rank <paramref name="rank"/> (of <paramref name="worldSize"/>)
    /// from the Hugging Face checkpoint in <paramref name="directory"/>: typically one
    /// <see cref="ModuleState"/>, whose sharding decides which bytes this rank reads.
    /// </summary>
    public static BaseModelLoad LoadBaseModel(string directory, int rank, int worldSize, IEnumerable<IStateful> parts, BaseModelOptions? options = null)
    {
        options ??= new BaseModelOptions();
        var list = parts.ToList();
        var target = new RankState(rank, worldSize);
        var checkpoint = HuggingFaceCheckpoint.Open(directory, options.KeyMapping);
        foreach (var part in list) part.PrepareLoad(target, checkpoint.Metadata);
        // A Hugging Face checkpoint has tensors only: a part that needs other entries refuses before any tensor is filled.
        StatefulParts.CheckRestore(list, new LoadResult(0, 1, new Dictionary<string, byte[]>(), [], [], 0));
        var load = Load(checkpoint, target, options);
        foreach (var part in list) part.Restore(load.Result);
        return load;
    }

    private static BaseModelLoad Load(HuggingFaceCheckpoint checkpoint, RankState target, BaseModelOptions options)
    {
        var directory = checkpoint.Directory;
        var saved = checkpoint.Metadata.Tensors;

        var readAs = new DType[target.Tensors.Count];
        var refused = new List<string>();
        for (var i = 0; i < readAs.Length; i++)
        {
            var t = target.Tensors[i];
            readAs[i] = t.DType;
            if (checkpoint.Unsupported.TryGetValue(t.Key, out var code))
                throw new ActorCkptException($"{directory}: '{t.Key}' is {code} in the files, a dtype ActorCkpt does not load");
            if (!saved.TryGetValue(t.Key, out var file) || file.DType == t.DType) continue;
            if (options.ConvertDTypes) readAs[i] = file.DType;
            else refused.Add($"'{t.Key}' is {DTypes.ToSafetensors(file.DType)} in the files but {DTypes.ToSafetensors(t.DType)} in the state");
        }
        if (refused.Count > 0)
            throw new ActorCkptException($"{directory}: {string.Join("; ", refused)} (set BaseModelOptions.ConvertDTypes to convert)");

        var wanted = target.Tensors.Select((t, i) => new WantedChunk(i, t.Key, readAs[i], t.GlobalShape, t.Box)).ToArray();
        var plan = ImportPlanner.Plan(checkpoint.Metadata, wanted, options.Strict, checkpoint.Unsupported.Keys, (target.Rank, target.Objects.Select(o => o.Key)));
        long read;
        using (var destinations = new LoadDestinations(target.Tensors, readAs))
        {
            read = checkpoint.Read(plan, destinations.Bytes, options.Parallelism);
            destinations.CopyToTargets();
        }
        var result = new LoadResult(0, 1, new Dictionary<string, byte[]>(), plan.ReturnedMissingKeys(options.Strict), plan.ReturnedUnexpectedKeys(options.Strict), read);
        return new BaseModelLoad(result, plan.Warnings(options.Strict, $"'{directory}'", target.Rank), checkpoint.SourceKeys);
    }
}
