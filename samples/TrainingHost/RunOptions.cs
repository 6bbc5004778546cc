using System.Globalization;

namespace TrainingHost;

/// <summary>What one process of the sample does: which rank of how many, where it listens, what it trains.</summary>
internal sealed record RunOptions
{
    /// <summary>This process's rank (one rank per process).</summary>
    public int Rank { get; init; }

    /// <summary>Number of ranks, hence of processes, in the cluster.</summary>
    public int World { get; init; } = 1;

    /// <summary>The port this node listens on (127.0.0.1).</summary>
    public int Port { get; init; }

    /// <summary>The seed node's port: rank 0 listens there and forms the cluster, the others join it.</summary>
    public int SeedPort { get; init; }

    /// <summary>The checkpoint root, shared by every rank.</summary>
    public string Root { get; init; } = "";

    /// <summary>Train to the end (resuming from the newest committed step), or only load the newest step and report it.</summary>
    public bool LoadOnly { get; init; }

    /// <summary>Number of optimizer steps of the whole run.</summary>
    public int Steps { get; init; } = 30;

    /// <summary>A checkpoint after every this many steps.</summary>
    public int SaveEvery { get; init; } = 5;

    /// <summary>Wall-clock time a step takes at least (stands in for real compute, so a run can be interrupted between checkpoints).</summary>
    public int StepMilliseconds { get; init; }

    /// <summary>Seed of everything random: initial weights and data.</summary>
    public int Seed { get; init; } = 1234;

    /// <summary>The Akka.NET actor system's name: the same on every node of the cluster.</summary>
    public string SystemName { get; init; } = "training";

    public static RunOptions Parse(string[] args)
    {
        var o = new RunOptions();
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            int Int() { var v = Next(); return int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : throw new ArgumentException($"{args[i - 1]} takes an integer, not '{v}'"); }
            o = args[i] switch
            {
                "--rank" => o with { Rank = Int() },
                "--world" => o with { World = Int() },
                "--port" => o with { Port = Int() },
                "--seed-port" => o with { SeedPort = Int() },
                "--root" => o with { Root = Next() },
                "--load-only" => o with { LoadOnly = true },
                "--steps" => o with { Steps = Int() },
                "--save-every" => o with { SaveEvery = Int() },
                "--step-ms" => o with { StepMilliseconds = Int() },
                "--seed" => o with { Seed = Int() },
                _ => throw new ArgumentException($"unknown option '{args[i]}'. Usage: TrainingHost --rank R --world K --port P --seed-port P0 --root DIR " +
                                                 "[--steps 30] [--save-every 5] [--step-ms 0] [--seed 1234] [--load-only]"),
            };
        }
        if (o.World < 1 || o.Rank < 0 || o.Rank >= o.World) throw new ArgumentException($"--rank {o.Rank} is outside --world {o.World}: ranks are 0..{o.World - 1}");
        if (o.Port <= 0 || o.SeedPort <= 0) throw new ArgumentException("--port and --seed-port are required (the seed node is rank 0, so rank 0's --port is --seed-port)");
        if (o.Rank == 0 && o.Port != o.SeedPort) throw new ArgumentException($"rank 0 is the seed node: its --port ({o.Port}) must be --seed-port ({o.SeedPort})");
        if (string.IsNullOrWhiteSpace(o.Root)) throw new ArgumentException("--root is required: the checkpoint directory every rank shares");
        if (o.Steps < 1 || o.SaveEvery < 1) throw new ArgumentException("--steps and --save-every must be positive");
        return o;
    }
}
