using System.Text.Json;
using TorchSharp;

namespace ActorCkpt;

/// <summary>
/// What one rank saves or loads: tensors with their place in the global tensors (replicated,
/// row- or column-sharded, uneven, empty) and non-tensor entries, under flat dotted keys.
/// For a load, the tensors are the destinations: allocated by the caller with the layout wanted; its
/// non-tensor entries name entries the load must find (their values are not read: every load returns
/// all of its rank's entries in <see cref="LoadResult.Objects"/>), one that is not there a missing key.
/// A save takes the state's entries as they are when it is called (what is added later goes to the
/// next save), and holds its tensors' memory until it no longer reads them, disposed by the caller or not.
/// Keys are stored as UTF-8: an empty key, one already in the state, and one holding a lone UTF-16
/// surrogate (which UTF-8 cannot hold) are refused when added.
/// </summary>
public sealed class RankState
{
    private readonly List<TensorEntry> _tensors = new();
    private readonly List<ObjectEntry> _objects = new();
    private readonly HashSet<string> _keys = new(StringComparer.Ordinal);
    // The handles a held copy (Hold) made, to dispose once nothing reads them; null for a caller's state.
    private List<torch.Tensor>? _aliases;

    /// <summary>Creates an empty state of rank <paramref name="rank"/> among <paramref name="worldSize"/> ranks.</summary>
    public RankState(int rank, int worldSize)
    {
        Ranks.Check(rank, worldSize, nameof(rank));
        Rank = rank;
        WorldSize = worldSize;
    }

    /// <summary>This rank.</summary>
    public int Rank { get; }

    /// <summary>Number of ranks.</summary>
    public int WorldSize { get; }

    /// <summary>Tensor entries, in the order they were added.</summary>
    public IReadOnlyList<TensorEntry> Tensors => _tensors;

    /// <summary>Non-tensor entries, in the order they were added.</summary>
    public IReadOnlyList<ObjectEntry> Objects => _objects;

    /// <summary>
    /// Adds the local piece <paramref name="local"/> of a tensor of <paramref name="globalShape"/>,
    /// starting at <paramref name="offsets"/>. Throws naming the key when the piece does not fit.
    /// </summary>
    public RankState AddTensor(string key, torch.Tensor local, IReadOnlyList<long> globalShape, IReadOnlyList<long> offsets)
    {
        Usable(key, local);
        TensorBox box;
        try
        {
            box = new TensorBox(offsets, local.shape);
        }
        catch (ArgumentException e) when (e is not ArgumentNullException)
        {
            // An offset that is negative, or offsets of another rank than the piece's shape.
            throw new ArgumentException($"'{key}': {e.Message}", e);
        }
        if (!box.FitsIn(globalShape))
            throw new ArgumentException($"'{key}': local shape {Shapes.Format(local.shape)} at offsets {Shapes.Format(offsets)} " +
                                        $"does not fit in global shape {Shapes.Format(globalShape)}");
        TorchDTypes.ToDType(local.dtype);
        Claim(key);
        _tensors.Add(new TensorEntry(key, local, globalShape.ToArray(), box));
        return this;
    }

    /// <summary>Adds a tensor every rank holds whole (replicated, as in data parallelism).</summary>
    public RankState AddReplicated(string key, torch.Tensor tensor) => AddTensor(key, Usable(key, tensor), tensor.shape, new long[tensor.shape.Length]);

    /// <summary>
    /// Adds a piece of a tensor sharded along <paramref name="dim"/>: the piece starts at
    /// <paramref name="offset"/> in that dimension and covers the others whole.
    /// </summary>
    public RankState AddSharded(string key, torch.Tensor local, int dim, long offset, long globalSize)
    {
        var shape = Usable(key, local).shape.ToArray();
        if (dim < 0 || dim >= shape.Length) throw new ArgumentOutOfRangeException(nameof(dim), $"'{key}': dim {dim} outside rank {shape.Length}");
        shape[dim] = globalSize;
        var offsets = new long[shape.Length];
        offsets[dim] = offset;
        return AddTensor(key, local, shape, offsets);
    }

    /// <summary>
    /// <paramref name="tensor"/>, refused naming <paramref name="key"/> when it is null or disposed (TorchSharp would
    /// say only "empty handle"), or on the meta device: it holds no bytes, so a save of it failed with libtorch's
    /// backtrace, and a load into it "succeeded" filling nothing (a model built on meta for deferred init resumed empty).
    /// </summary>
    private static torch.Tensor Usable(string key, torch.Tensor tensor)
    {
        if (tensor is null) throw new ArgumentNullException(nameof(tensor), $"'{key}': the tensor is null");
        if (tensor.IsInvalid) throw new ArgumentException($"'{key}': the tensor is disposed", nameof(tensor));
        if (tensor.device_type == DeviceType.META)
            throw new ArgumentException($"'{key}': the tensor is on the meta device, which holds no data to save or load into (materialize it first, e.g. with to_empty)", nameof(tensor));
        return tensor;
    }

    /// <summary>
    /// What a save reads of this state, taken when it is called: its entries as they are (later ones are not
    /// in it, and adding them cannot upset the save's reading), each tensor a new handle on the same memory,
    /// outside any dispose scope. The save reads them after its call returned: a caller that disposes its
    /// tensor meanwhile (or whose scope ends) would otherwise free the memory under the save's copy, or
    /// under its writers. A tensor already disposed keeps its entry, for staging to name. Released with
    /// <see cref="Release"/> once nothing reads it.
    /// </summary>
    internal RankState Hold()
    {
        var held = new RankState(Rank, WorldSize) { _aliases = new List<torch.Tensor>(_tensors.Count) };
        foreach (var entry in _tensors)
        {
            torch.Tensor? alias = null;
            try
            {
                if (!entry.Tensor.IsInvalid) alias = entry.Tensor.alias().DetachFromDisposeScope();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Freed under the call (staging names the key), or no alias to be had: the save reads the caller's own handle.
            }
            if (alias is not null) held._aliases!.Add(alias);
            held._tensors.Add(alias is null ? entry : entry with { Tensor = alias });
        }
        held._objects.AddRange(_objects);
        return held;
    }

    /// <summary>Disposes the tensor handles <see cref="Hold"/> made (the caller's own are never disposed); nothing for any other state.</summary>
    internal void Release()
    {
        var aliases = Interlocked.Exchange(ref _aliases, null);
        if (aliases is null) return;
        foreach (var alias in aliases) alias.Dispose();
    }

    /// <summary>Adds a non-tensor entry from its bytes.</summary>
    public RankState AddObject(string key, byte[] bytes, ObjectScope scope)
    {
        if (bytes is null) throw new ArgumentNullException(nameof(bytes), $"'{key}': the bytes are null");
        EnumArguments.Check(scope, nameof(scope), "object scope", ["global", "rank"]);
        Claim(key);
        _objects.Add(new ObjectEntry(key, bytes, scope));
        return this;
    }

    /// <summary>Adds a non-tensor entry serialized as JSON.</summary>
    public RankState AddJson<T>(string key, T value, ObjectScope scope)
    {
        byte[] json;
        try
        {
            json = JsonSerializer.SerializeToUtf8Bytes(value);
        }
        catch (Exception e) when (e is JsonException or ArgumentException or NotSupportedException or InvalidOperationException)
        {
            throw new ArgumentException($"the entry '{key}' cannot be written as JSON: {e.Message}", nameof(value), e);
        }
        return AddObject(key, json, scope);
    }

    /// <summary>
    /// Builds a state from nested dictionaries. Leaves: a <see cref="torch.Tensor"/> (replicated),
    /// a <see cref="TensorShard"/> (sharded), a <see cref="StateObject"/>, or a byte array (a per-rank entry).
    /// Keys are the dotted paths.
    /// </summary>
    public static RankState FromNested(int rank, int worldSize, IReadOnlyDictionary<string, object> nested)
    {
        var state = new RankState(rank, worldSize);
        foreach (var (key, leaf) in StateFlattener.Flatten(nested))
        {
            switch (leaf)
            {
                case torch.Tensor t: state.AddReplicated(key, t); break;
                case TensorShard s: state.AddTensor(key, s.Local, s.GlobalShape, s.Offsets); break;
                case StateObject o: state.AddObject(key, o.Bytes, o.Scope); break;
                case byte[] b: state.AddObject(key, b, ObjectScope.Rank); break;
                default: throw new ArgumentException($"'{key}': leaves must be tensors, TensorShard, StateObject or byte[], not {leaf?.GetType().Name ?? "null"}");
            }
        }
        return state;
    }

    /// <summary>The state as nested dictionaries (tensor leaves as <see cref="TensorShard"/>, entries as <see cref="StateObject"/>).</summary>
    public IReadOnlyDictionary<string, object> ToNested()
    {
        var flat = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var t in _tensors) flat[t.Key] = new TensorShard(t.Tensor, t.GlobalShape, t.Box.Offsets);
        foreach (var o in _objects) flat[o.Key] = new StateObject(o.Bytes, o.Scope);
        return StateFlattener.Unflatten(flat);
    }

    private void Claim(string key)
    {
        if (string.IsNullOrEmpty(key)) throw new ArgumentException("state keys must not be empty");
        // Keys are stored as UTF-8, where a lone surrogate becomes U+FFFD: such a key was saved under
        // another, and two of them under one, a step that committed and no reader could open.
        if (LoneSurrogateAt(key) is var at && at >= 0)
        {
            var escaped = $"\\u{(int)key[at]:X4}";
            throw new ArgumentException($"key '{key[..at]}{escaped}{key[(at + 1)..]}' holds a lone UTF-16 surrogate ({escaped} at index {at}): " +
                                        "keys are stored as UTF-8, which has no form for it, so it would be saved under another key");
        }
        if (!_keys.Add(key)) throw new ArgumentException($"key '{key}' is already in the state of rank {Rank}");
    }

    /// <summary>The index of the first UTF-16 surrogate in <paramref name="key"/> that is not half of a pair; -1 when none is.</summary>
    private static int LoneSurrogateAt(string key)
    {
        for (var i = 0; i < key.Length; i++)
        {
            if (char.IsHighSurrogate(key[i]) && i + 1 < key.Length && char.IsLowSurrogate(key[i + 1])) i++;
            else if (char.IsSurrogate(key[i])) return i;
        }
        return -1;
    }
}
