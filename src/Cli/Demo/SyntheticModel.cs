using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using TorchSharp;

namespace ActorCkpt.Cli.Demo;

/// <summary>
/// A made-up model state whose every value is a deterministic function of (seed, step, key), so
/// a checkpoint can be checked bit-exact against values regenerated later, on any rank count.
/// Layouts: sharded (rows), replicated, mixed (rows, columns, replicated and uneven with an empty
/// shard, over float32, bfloat16, float16, int64, int32 and uint8).
/// </summary>
internal sealed class SyntheticModel
{
    /// <summary>Accepted values of --layout.</summary>
    public static readonly string[] Layouts = { "sharded", "replicated", "mixed" };

    private const long Columns = 256;
    private readonly int _seed;

    /// <summary>Defines the model: <paramref name="tensors"/> tensors of about <paramref name="sizeMb"/> MiB in all.</summary>
    public SyntheticModel(long sizeMb, int tensors, string layout, int seed)
    {
        if (sizeMb <= 0) throw new ArgumentOutOfRangeException(nameof(sizeMb), sizeMb, "--size-mb must be positive");
        if (tensors <= 0) throw new ArgumentOutOfRangeException(nameof(tensors), tensors, "--tensors must be positive");
        if (!Layouts.Contains(layout)) throw new ArgumentException($"--layout '{layout}': accepted values are {string.Join(", ", Layouts)}");
        _seed = seed;
        var perTensor = sizeMb * (1L << 20) / tensors;
        Tensors = Enumerable.Range(0, tensors).Select(i =>
        {
            var (dtype, sharding) = layout switch
            {
                "sharded" => (DType.Float32, Sharding.Rows),
                "replicated" => (DType.Float32, Sharding.Replicated),
                _ => Mixed(i),
            };
            var rows = Math.Max(1, perTensor / DTypes.ElementSize(dtype) / Columns);
            return new SyntheticTensor($"model.layers.{i}.weight", dtype, new[] { rows, Columns }, sharding);
        }).ToArray();
    }

    /// <summary>The model's tensors.</summary>
    public IReadOnlyList<SyntheticTensor> Tensors { get; }

    /// <summary>Bytes of the whole model (each tensor once).</summary>
    public long Bytes => Tensors.Sum(t => Shapes.Volume(t.Shape) * DTypes.ElementSize(t.DType));

    /// <summary>
    /// The states of all <paramref name="world"/> ranks at <paramref name="step"/>, with the entries
    /// a trainer saves: the iteration (global JSON), each rank's RNG state (bytes) and data loader position (JSON).
    /// </summary>
    public RankState[] BuildStates(int world, long step) => BuildStates(world, step, reuse: null);

    /// <summary>
    /// As <see cref="BuildStates(int, long)"/>, but each tensor's values are written in place into the
    /// same tensor of <paramref name="reuse"/> (the states of an earlier step of the same model and
    /// world), as a training job updates its parameters: the new states share those tensors, and no
    /// memory is freed or taken for them. Without <paramref name="reuse"/>, new tensors.
    /// </summary>
    public RankState[] BuildStates(int world, long step, IReadOnlyList<RankState>? reuse)
    {
        if (reuse is not null && (reuse.Count != world || reuse.Any(s => s.Tensors.Count != Tensors.Count)))
            throw new ArgumentException($"the states to reuse are of another world or model ({reuse.Count} ranks, not {world})", nameof(reuse));
        var states = Enumerable.Range(0, world).Select(r => new RankState(r, world)).ToArray();
        foreach (var t in Tensors)
        {
            using var global = Values(t, step);
            foreach (var state in states)
            {
                var box = t.BoxOf(state.Rank, world);
                var tensor = reuse is null ? Slice(global, box) : Refill(reuse[state.Rank].Tensors.Single(e => e.Key == t.Key).Tensor, global, box);
                state.AddTensor(t.Key, tensor, t.Shape, box.Offsets);
            }
        }
        foreach (var state in states)
        {
            state.AddJson("trainer.iteration", step, ObjectScope.Global);
            state.AddObject("rng.state", RngBytes(step, state.Rank), ObjectScope.Rank);
            state.AddJson("data_loader.position", new[] { step, state.Rank, step * 1000 + state.Rank }, ObjectScope.Rank);
        }
        return states;
    }

    /// <summary>Zero-filled destination states for a load on <paramref name="world"/> ranks.</summary>
    public RankState[] EmptyStates(int world)
    {
        var states = Enumerable.Range(0, world).Select(r => new RankState(r, world)).ToArray();
        foreach (var t in Tensors)
            foreach (var state in states)
            {
                var box = t.BoxOf(state.Rank, world);
                state.AddTensor(t.Key, torch.zeros(box.Lengths.ToArray(), TorchDTypes.ToScalarType(t.DType)), t.Shape, box.Offsets);
            }
        return states;
    }

    /// <summary>
    /// Compares loaded states with the values of <paramref name="step"/>, byte for byte, and the
    /// loaded entries with what the saving ranks (<paramref name="savedWorld"/>) wrote.
    /// Returns one line per difference; empty when bit-exact.
    /// </summary>
    public List<string> Check(IReadOnlyList<RankState> loaded, IReadOnlyList<LoadResult> results, long step, int savedWorld)
    {
        var problems = new List<string>();
        foreach (var t in Tensors)
        {
            using var global = Values(t, step);
            foreach (var state in loaded)
            {
                var entry = state.Tensors.Single(e => e.Key == t.Key);
                using var expected = Slice(global, entry.Box);
                if (!expected.bytes.SequenceEqual(entry.Tensor.bytes))
                    problems.Add($"rank {state.Rank}: '{t.Key}' differs from step {step}'s values");
            }
        }
        foreach (var (state, result) in loaded.Zip(results))
        {
            if (result.Json<long>("trainer.iteration") != step) problems.Add($"rank {state.Rank}: trainer.iteration is not {step}");
            var hasOwn = state.Rank < savedWorld;
            if (hasOwn != result.Objects.ContainsKey("rng.state"))
                problems.Add($"rank {state.Rank}: rng.state {(hasOwn ? "missing" : "unexpected")}");
            else if (hasOwn && !result.Objects["rng.state"].AsSpan().SequenceEqual(RngBytes(step, state.Rank)))
                problems.Add($"rank {state.Rank}: rng.state differs");
            if (hasOwn && !result.Json<long[]>("data_loader.position").SequenceEqual(new[] { step, state.Rank, step * 1000 + state.Rank }))
                problems.Add($"rank {state.Rank}: data_loader.position differs");
        }
        return problems;
    }

    /// <summary>Disposes the tensors of <paramref name="states"/> (they were made here, never live parameters).</summary>
    public static void Dispose(IEnumerable<RankState> states)
    {
        foreach (var t in states.SelectMany(s => s.Tensors)) t.Tensor.Dispose();
    }

    private static (DType, Sharding) Mixed(int i) => (i % 6, i % 4) switch
    {
        var (d, s) => (
            d switch { 0 => DType.Float32, 1 => DType.BFloat16, 2 => DType.Float16, 3 => DType.Int64, 4 => DType.Int32, _ => DType.UInt8 },
            s switch { 0 => Sharding.Rows, 1 => Sharding.Columns, 2 => Sharding.Replicated, _ => Sharding.UnevenRows }),
    };

    private torch.Tensor Values(SyntheticTensor t, long step)
    {
        var generator = new torch.Generator((ulong)SeedOf(step, t.Key));
        var type = TorchDTypes.ToScalarType(t.DType);
        using var scope = torch.NewDisposeScope();
        var values = t.DType switch
        {
            DType.UInt8 => torch.randint(0, 256, t.Shape, torch.ScalarType.Int64, generator: generator).to(type),
            DType.Int64 or DType.Int32 => torch.randint(-1_000_000, 1_000_000, t.Shape, torch.ScalarType.Int64, generator: generator).to(type),
            _ => torch.randn(t.Shape, torch.ScalarType.Float32, generator: generator).to(type),
        };
        return values.MoveToOuterDisposeScope();
    }

    /// <summary>Copies <paramref name="box"/> of <paramref name="global"/> into <paramref name="into"/>; returns it.</summary>
    private static torch.Tensor Refill(torch.Tensor into, torch.Tensor global, TensorBox box)
    {
        using var scope = torch.NewDisposeScope();
        using (torch.no_grad()) into.copy_(View(global, box));
        return into;
    }

    private static torch.Tensor Slice(torch.Tensor global, TensorBox box)
    {
        using var scope = torch.NewDisposeScope();
        return View(global, box).contiguous().clone().MoveToOuterDisposeScope();
    }

    /// <summary><paramref name="box"/> of <paramref name="global"/>, a view (its narrowings belong to the caller's dispose scope).</summary>
    private static torch.Tensor View(torch.Tensor global, TensorBox box)
    {
        var view = global;
        for (var d = 0; d < box.Rank; d++) view = view.narrow(d, box.Offsets[d], box.Lengths[d]);
        return view;
    }

    private long SeedOf(long step, string key) =>
        (long)(XxHash3.HashToUInt64(Encoding.UTF8.GetBytes($"{_seed}/{step}/{key}")) & 0x7FFF_FFFF_FFFF_FFFF);

    private byte[] RngBytes(long step, int rank)
    {
        var bytes = new byte[64];
        for (var i = 0; i < 8; i++)
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(i * 8), XxHash3.HashToUInt64(Encoding.UTF8.GetBytes($"rng/{_seed}/{step}/{rank}/{i}")));
        return bytes;
    }
}
