using System.CommandLine;
using ActorCkpt.Cli.Bench;
using ActorCkpt.Cli.Demo;
using ActorCkpt.Cli.Train;

namespace ActorCkpt.Cli;

/// <summary>The <c>actorckpt</c> command line: demo, train, inspect, verify, ls, gc, export, unshard, bench, bench-plan, node.</summary>
internal static class ActorCkptCli
{
    /// <summary>Parses <paramref name="args"/> and runs the command, writing to the given streams; returns the exit code.</summary>
    public static int Run(string[] args, TextWriter? stdout = null, TextWriter? stderr = null)
    {
        stdout ??= Console.Out;
        stderr ??= Console.Error;
        var root = Build(stdout, stderr);
        return root.Parse(args).Invoke(new InvocationConfiguration { Output = stdout, Error = stderr });
    }

    private static RootCommand Build(TextWriter stdout, TextWriter stderr)
    {
        var json = new Option<bool>("--json") { Description = "Print one JSON object on the last line of output" };
        var config = new Option<string?>("--config") { Description = "A HOCON file whose settings override hocon/node.conf" };

        var dir = new Option<string>("--dir") { Description = "Checkpoint directory", Required = true };
        var ranks = new Option<int>("--ranks") { Description = "Ranks that save", DefaultValueFactory = _ => 4 };
        var loadRanks = new Option<int>("--load-ranks") { Description = "Ranks that load the newest checkpoint", DefaultValueFactory = _ => 3 };
        var sizeMb = new Option<long>("--size-mb") { Description = "Model size in MiB", DefaultValueFactory = _ => 64 };
        var tensors = new Option<int>("--tensors") { Description = "Number of tensors", DefaultValueFactory = _ => 32 };
        var layout = new Option<string>("--layout") { Description = "How tensors are laid out over ranks", DefaultValueFactory = _ => "mixed" };
        layout.AcceptOnlyFromAmong(SyntheticModel.Layouts);
        var steps = new Option<int>("--steps") { Description = "Checkpoints to save, one per step, after the newest committed one", DefaultValueFactory = _ => 1 };
        var seed = new Option<int>("--seed") { Description = "Seed of the synthetic values", DefaultValueFactory = _ => 1 };
        var check = new Option<bool>("--check") { Description = "Save nothing: load the newest committed checkpoint and check it bit-exact" };
        var nodes = new Option<int>("--nodes") { Description = "Run across this many node processes on 127.0.0.1 (all but one with ranks, one writer-only)", DefaultValueFactory = _ => 1 };
        var placement = new Option<string>("--placement") { Description = "Which writers take a rank's files with --nodes", DefaultValueFactory = _ => "local" };
        placement.AcceptOnlyFromAmong("local", "spread");
        var demo = new Command("demo", "Save checkpoints of a synthetic model through the actors, then load the newest on another rank count and check it bit-exact")
        {
            dir, ranks, loadRanks, sizeMb, tensors, layout, steps, seed, check, nodes, placement, json, config,
        };
        demo.SetAction(p => Guard(stderr, () =>
        {
            var options = new DemoRunner.Options(p.GetValue(dir)!, p.GetValue(ranks), p.GetValue(loadRanks), p.GetValue(sizeMb), p.GetValue(tensors),
                p.GetValue(layout)!, p.GetValue(steps), p.GetValue(seed), p.GetValue(check), ReadConfig(p.GetValue(config)));
            var output = new CliOutput(stdout, p.GetValue(json));
            return (p.GetValue(nodes) > 1 && !options.Check
                ? ClusterDemoRunner.RunAsync(options, p.GetValue(nodes), p.GetValue(placement)!, output)
                : DemoRunner.RunAsync(options, output)).GetAwaiter().GetResult();
        }));

        var trainRanks = new Option<int>("--ranks") { Description = "Data-parallel ranks (the tensor-parallel layer is split over them too)", DefaultValueFactory = _ => 2 };
        var trainSteps = new Option<int>("--steps") { Description = "Train until this step", DefaultValueFactory = _ => 60 };
        var ckptEvery = new Option<int>("--ckpt-every") { Description = "Save a checkpoint every this many steps (asynchronously)", DefaultValueFactory = _ => 10 };
        var resume = new Option<bool>("--resume") { Description = "Continue from the newest committed checkpoint in --dir" };
        var train = new Command("train", "Train a small TorchSharp MLP data- and tensor-parallel on synthetic data, printing the loss of every step, with async checkpoints")
        {
            dir, trainRanks, trainSteps, ckptEvery, seed, resume, json, config,
        };
        train.SetAction(p => Guard(stderr, () =>
        {
            var configPath = p.GetValue(config);
            if (configPath is not null && !File.Exists(configPath)) throw new FileNotFoundException($"--config '{configPath}' does not exist");
            return TrainRunner.RunAsync(new TrainRunner.Options(p.GetValue(dir)!, p.GetValue(trainRanks), p.GetValue(trainSteps), p.GetValue(ckptEvery),
                p.GetValue(seed), p.GetValue(resume), configPath), new CliOutput(stdout, p.GetValue(json))).GetAwaiter().GetResult();
        }));

        var nodeConfig = new Option<string>("--config") { Description = "HOCON file of the node (must set actorckpt.root)", Required = true };
        var port = new Option<int?>("--port") { Description = "TCP port on 127.0.0.1 (default: from the config, 0 for any free port)" };
        var seeds = new Option<string[]>("--seed") { Description = "host:port of a node to join (repeat for several)", AllowMultipleArgumentsPerToken = false };
        var roles = new Option<string?>("--roles") { Description = "Comma-separated roles: rank, writer, planner (default: all three)" };
        var node = new Command("node", "Start a cluster node and run until SIGTERM or Ctrl-C (which leave the cluster gracefully)") { nodeConfig, port, seeds, roles };
        node.SetAction(p => Guard(stderr, () => NodeCommand.RunAsync(p.GetValue(nodeConfig)!, p.GetValue(port), p.GetValue(seeds) ?? Array.Empty<string>(),
            p.GetValue(roles)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), new CliOutput(stdout, json: false)).GetAwaiter().GetResult()));

        var dirArg = new Argument<string>("DIR") { Description = "Checkpoint directory" };
        var step = new Option<long?>("--step") { Description = "The step (default: the newest committed)" };
        var inspect = new Command("inspect", "List the committed steps, or one step's tensors, chunks, files and sizes") { dirArg, step, json };
        inspect.SetAction(p => Guard(stderr, () => InspectCommand.Run(p.GetValue(dirArg)!, p.GetValue(step), new CliOutput(stdout, p.GetValue(json)))));

        var verify = new Command("verify", "Recompute every checksum of a committed step") { dirArg, step, json };
        verify.SetAction(p => Guard(stderr, () => VerifyCommand.Run(p.GetValue(dirArg)!, p.GetValue(step), new CliOutput(stdout, p.GetValue(json)))));

        var rootArg = new Argument<string>("ROOT") { Description = "Checkpoint root directory" };
        var ls = new Command("ls", "The catalog: every checkpoint with its step, status (committed, aborted, deleted, in-flight), size and time") { rootArg, json, config };
        ls.SetAction(p => Guard(stderr, () => ListCommand.RunAsync(p.GetValue(rootArg)!, ReadConfig(p.GetValue(config)), new CliOutput(stdout, p.GetValue(json))).GetAwaiter().GetResult()));

        var gc = new Command("gc", "Remove the debris of uncommitted saves and apply retention (actorckpt.retention in --config) now") { rootArg, json, config };
        gc.SetAction(p => Guard(stderr, () => GcCommand.RunAsync(p.GetValue(rootArg)!, ReadConfig(p.GetValue(config)), new CliOutput(stdout, p.GetValue(json))).GetAwaiter().GetResult()));

        var outDir = new Option<string>("--out") { Description = "Output directory", Required = true };
        var maxShard = new Option<string>("--max-shard-size") { Description = "Largest output file (5GB, 500MB, 2GiB, or bytes)", DefaultValueFactory = _ => "5GB" };
        var indexFrom = new Option<string?>("--index-from") { Description = "A reference model.safetensors.index.json: keys keep its file numbers, new keys go to the last file" };
        var dtype = new Option<string>("--dtype") { Description = "Dtype of floating-point tensors", DefaultValueFactory = _ => "keep" };
        dtype.AcceptOnlyFromAmong("keep", "bf16", "f32");
        var export = new Command("export", "Write a committed step in the Hugging Face layout: full tensors in model-0000i-of-0000N.safetensors and model.safetensors.index.json; optimizer state left out")
        {
            dirArg, outDir, step, maxShard, indexFrom, dtype, json,
        };
        export.SetAction(p => Guard(stderr, () => ExportCommand.Run(p.GetValue(dirArg)!, p.GetValue(outDir)!, p.GetValue(step), p.GetValue(maxShard)!,
            p.GetValue(indexFrom), p.GetValue(dtype)!, new CliOutput(stdout, p.GetValue(json)))));

        var strategy = new Option<string>("--strategy") { Description = "How full tensors are laid out in files", Required = true };
        strategy.AcceptOnlyFromAmong("one-file", "one-file-per-tensor", "chunks");
        var chunkSize = new Option<string>("--chunk-size") { Description = "File size with --strategy chunks (bytes, or 500MB, 1GiB, ...)", DefaultValueFactory = _ => "1GB" };
        var optim = new Option<bool>("--optim") { Description = "Also the optimizer state (keys under optim. / optimizer.), under optim" };
        var unshard = new Command("unshard", "Write a committed step's full tensors as safetensors files: model.safetensors, model/<key>.safetensors or model/chunk-N.safetensors")
        {
            dirArg, outDir, strategy, chunkSize, optim, step, json,
        };
        unshard.SetAction(p => Guard(stderr, () => UnshardCommand.Run(p.GetValue(dirArg)!, p.GetValue(outDir)!, p.GetValue(strategy)!, p.GetValue(chunkSize)!,
            p.GetValue(optim), p.GetValue(step), new CliOutput(stdout, p.GetValue(json)))));

        var benchSize = new Option<long>("--size-mb") { Description = "Model size in MiB", DefaultValueFactory = _ => 256 };
        var benchTensors = new Option<int>("--tensors") { Description = "Number of tensors", DefaultValueFactory = _ => 64 };
        var benchRanks = new Option<int>("--ranks") { Description = "Ranks", DefaultValueFactory = _ => 2 };
        var benchLayout = new Option<string>("--layout") { Description = "sharded or replicated", DefaultValueFactory = _ => "sharded" };
        benchLayout.AcceptOnlyFromAmong("sharded", "replicated");
        var bench = new Command("bench", "Save and load once, beside a raw baseline of the same bytes")
        {
            dir, benchSize, benchTensors, benchRanks, benchLayout, nodes, placement, json, config,
        };
        bench.SetAction(p => Guard(stderr, () => BenchRunner.RunAsync(new BenchRunner.Options(
            p.GetValue(dir)!, p.GetValue(benchSize), p.GetValue(benchTensors), p.GetValue(benchRanks), p.GetValue(benchLayout)!,
            ReadConfig(p.GetValue(config)), p.GetValue(nodes), p.GetValue(placement)!), new CliOutput(stdout, p.GetValue(json))).GetAwaiter().GetResult()));

        var planRanks = new Option<int>("--ranks") { Description = "Simulated ranks of the save", DefaultValueFactory = _ => 4096 };
        var planItems = new Option<int>("--items") { Description = "Items (tensors) per rank", DefaultValueFactory = _ => 256 };
        var planLoadRanks = new Option<int>("--load-ranks") { Description = "Simulated ranks of the load (resharding)", DefaultValueFactory = _ => 3000 };
        var planWriters = new Option<int>("--writers") { Description = "Writers", DefaultValueFactory = _ => 8 };
        var planRepeat = new Option<int>("--repeat") { Description = "Runs of each measurement (the median is reported)", DefaultValueFactory = _ => 3 };
        var benchPlan = new Command("bench-plan", "Time save and load planning at scale with simulated ranks (no tensors), and the cached save plan")
        {
            planRanks, planItems, planLoadRanks, planWriters, planRepeat, json,
        };
        benchPlan.SetAction(p => Guard(stderr, () => PlanBenchRunner.Run(new PlanBenchRunner.Options(
            p.GetValue(planRanks), p.GetValue(planItems), p.GetValue(planLoadRanks), p.GetValue(planWriters), p.GetValue(planRepeat)), new CliOutput(stdout, p.GetValue(json)))));

        return new RootCommand("actorckpt: actor-based distributed checkpointing for TorchSharp training hosts")
        {
            demo, train, inspect, verify, ls, gc, export, unshard, bench, benchPlan, node,
        };
    }

    private static string? ReadConfig(string? path) =>
        path is null ? null : File.Exists(path) ? File.ReadAllText(path) : throw new FileNotFoundException($"--config '{path}' does not exist");

    /// <summary>Runs a command; expected failures print one line naming what is wrong and exit 2.</summary>
    private static int Guard(TextWriter stderr, Func<int> command)
    {
        try
        {
            return command();
        }
        catch (Exception e) when (e is ActorCkptException or IOException or ArgumentException or UnauthorizedAccessException
                                      or Akka.Configuration.ConfigurationException or TimeoutException)
        {
            stderr.WriteLine("actorckpt: " + e.Message);
            return 2;
        }
    }
}
