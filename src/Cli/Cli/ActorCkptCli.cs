using System.CommandLine;
using ActorCkpt.Cli.Bench;
using ActorCkpt.Cli.Demo;
using ActorCkpt.Cli.Train;

namespace ActorCkpt.Cli;

/// <summary>The <c>actorckpt</c> command line: demo, train, inspect, verify, ls, gc, catalog rebuild, export, unshard, bench, bench-plan, node.</summary>
internal static class ActorCkptCli
{
    /// <summary>
    /// Parses <paramref name="args"/> and runs the command, writing to the given streams; returns
    /// the exit code: 0 done, 1 the operation failed (one line on stderr), 2 a usage error (one
    /// line naming the bad flag, value or command and the nearest valid one). <c>--help</c> prints
    /// the help and exits 0.
    /// </summary>
    public static int Run(string[] args, TextWriter? stdout = null, TextWriter? stderr = null)
    {
        stdout ??= Console.Out;
        stderr ??= Console.Error;
        var parse = Build(stdout, stderr).Parse(args);
        if (UsageError.Repeated(parse) is { } repeated)
        {
            stderr.WriteLine("actorckpt: " + repeated);
            return CommandFailure.Usage;
        }
        if (parse.Errors.Count > 0 && parse.Action is System.CommandLine.Invocation.ParseErrorAction)
        {
            stderr.WriteLine("actorckpt: " + UsageError.Describe(parse));
            return CommandFailure.Usage;
        }
        return parse.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr });
    }

    /// <summary>The largest rank count of an in-process run (the demo, the bench): each rank is a set of actors and tensors in this process.</summary>
    internal const int MaxRanks = 256;

    /// <summary>The most node processes the demo and the bench start on this host.</summary>
    internal const int MaxNodes = 16;

    /// <summary>The largest synthetic model, in MiB (64 GiB).</summary>
    internal const long MaxSizeMb = 64 << 10;

    /// <summary>The most tensors of a synthetic model.</summary>
    internal const int MaxTensors = 100_000;

    private static RootCommand Build(TextWriter stdout, TextWriter stderr)
    {
        var verbose = new Option<bool>("--verbose") { Description = "On a failure, print the stack trace after the one-line error", Recursive = true };
        var json = new Option<bool>("--json") { Description = "Print one JSON object on the last line of output" };
        var config = new Option<string?>("--config") { Description = "A HOCON file whose settings override hocon/node.conf" }.ExistingFile();
        int Guard(ParseResult p, Func<int> command) => CommandFailure.Guard(stderr, p.GetValue(verbose), command);

        var dir = new Option<string>("--dir") { Description = "Checkpoint root: a directory, or an object store (az://container/prefix, s3://bucket/prefix)", Required = true }.NotEmpty().AsRoot();
        var create = new Option<bool>("--create") { Description = "With an az:// or s3:// root: create the container or bucket when it is missing" };
        var ranks = CliOptions.Int("--ranks", "Ranks that save", 4, 1, MaxRanks);
        var loadRanks = CliOptions.Int("--load-ranks", "Ranks that load the newest checkpoint", 3, 1, MaxRanks);
        var sizeMb = CliOptions.Long("--size-mb", "Model size in MiB", 64, 1, MaxSizeMb);
        var tensors = CliOptions.Int("--tensors", "Number of tensors", 32, 1, MaxTensors);
        var layout = CliOptions.OneOf("--layout", "How tensors are laid out over ranks", "mixed", SyntheticModel.Layouts.ToArray());
        var steps = CliOptions.Int("--steps", "Checkpoints to save, one per step, after the newest committed one", 1, 1, 10_000);
        var seed = CliOptions.Int("--seed", "Seed of the synthetic values", 1, 0, int.MaxValue);
        var check = new Option<bool>("--check") { Description = "Save nothing: load the newest committed checkpoint and check it bit-exact" };
        var nodes = CliOptions.Int("--nodes", "Run across this many node processes on 127.0.0.1 (all but one with ranks, one writer-only)", 1, 1, MaxNodes);
        var placement = CliOptions.OneOf("--placement", "Which writers take a rank's files with --nodes", "local", "local", "spread");
        var tier = CliOptions.OneOf("--tier", "Where saves go with --nodes: disk, or memory (every node process a host keeping replicas in tmpfs)", "disk", "disk", "memory");
        var replicas = CliOptions.IntRangedByCommand("--replicas", "With --tier memory: copies of each shard, each on another node's host", 2, "1 to --nodes");
        var diskEvery = CliOptions.Int("--disk-every", "With --tier memory: steps that are multiples of this also go to disk (0: none)", 10, 0, 1_000_000);
        var killNode = new Option<string?>("--kill-node") { Description = "With --tier memory: after the saves, SIGKILL these node processes (0,2) and remove their hosts' tmpfs replicas; restart them and load" };
        var killProcess = new Option<string?>("--kill-process") { Description = "With --tier memory: after the saves, SIGKILL these node processes (0,2), their tmpfs kept; restart them and load" };
        var replicasDir = new Option<string?>("--replicas-dir") { Description = "With --tier memory: the tmpfs directory of the replicas (default /dev/shm/actorckpt)" };
        var demo = new Command("demo", "Save checkpoints of a synthetic model through the actors, then load the newest on another rank count and check it bit-exact")
        {
            dir, ranks, loadRanks, sizeMb, tensors, layout, steps, seed, check, nodes, placement, tier, replicas, diskEvery, killNode, killProcess, replicasDir, create, json, config,
        };
        CreateOnlyWithObjectStore(demo, dir, create);
        demo.Validators.Add(r => CrossCheck(() =>
        {
            var (n, k) = (Given(r, nodes), Given(r, ranks));
            var memory = Given(r, tier) == "memory";
            if (!memory)
            {
                foreach (var option in new Option[] { replicas, diskEvery, killNode, killProcess, replicasDir })
                    if (r.GetResult(option) is { Implicit: false })
                    {
                        r.AddError($"{option.Name} needs --tier memory");
                        return;
                    }
                // --check loads the newest step in this process: these would be ignored.
                if (r.GetValue(check) && new Option[] { steps, nodes, placement }.FirstOrDefault(o => r.GetResult(o) is { Implicit: false }) is { } unused)
                {
                    r.AddError($"{unused.Name} does not go with --check, which only loads the newest step, in this process");
                    return;
                }
                if (n <= 1 && r.GetResult(placement) is { Implicit: false })
                {
                    r.AddError("--placement needs --nodes 2 or more (one process has one node)");
                    return;
                }
                if (n > 1 && !r.GetValue(check) && k < n - 1)
                    r.AddError($"--ranks {k} leaves a training node without ranks with --nodes {n} (accepted: {n - 1} to {MaxRanks})");
                return;
            }
            if (!BlobStores.IsDirectory(r.GetValue(dir) ?? "")) r.AddError("--tier memory needs a directory --dir: the memory tier persists to a directory root, not to an object store");
            else if (n < 2) r.AddError($"--tier memory needs --nodes 2 or more (each node process is a host of its own); got --nodes {n}");
            else if (r.GetValue(check)) r.AddError("--check does not go with --tier memory: the memory demo saves, takes nodes away and loads");
            else if (r.GetValue(killNode) is not null && r.GetValue(killProcess) is not null) r.AddError("--kill-node and --kill-process exclude each other: give one of them");
            else if (ReplicasProblem(Given(r, replicas), n) is { } rp) r.AddError(rp);
            else if (k < n) r.AddError($"--ranks {k} leaves a node without ranks with --nodes {n} --tier memory (accepted: {n} to {MaxRanks})");
            else if (r.GetValue(killNode) is { } kn && NodeIndices.Parse("--kill-node", kn, n).Problem is { } p1) r.AddError(p1);
            else if (r.GetValue(killProcess) is { } kp && NodeIndices.Parse("--kill-process", kp, n).Problem is { } p2) r.AddError(p2);
            else if (r.GetValue(replicasDir) is { } rd && string.IsNullOrWhiteSpace(rd)) r.AddError("--replicas-dir is empty: give the tmpfs directory of the replicas");
        }));
        demo.SetAction(p => Guard(p, () =>
        {
            var options = new DemoRunner.Options(p.GetValue(dir)!, p.GetValue(ranks), p.GetValue(loadRanks), p.GetValue(sizeMb), p.GetValue(tensors),
                p.GetValue(layout)!, p.GetValue(steps), p.GetValue(seed), p.GetValue(check), WithCreate(ReadConfig(p.GetValue(config), p.GetValue(verbose)), p.GetValue(create)));
            // A check only reads: it starts nothing on a root that no save has made.
            if (options.Check)
            {
                var node = NodeConfig.Checked(options.Hocon);
                RootChecks.RequireCatalog(options.Dir, node);
                RootChecks.CheckCatalogFile(options.Dir, node, required: false);
            }
            else RootChecks.NotAFile(options.Dir, "--dir");
            var output = new CliOutput(stdout, p.GetValue(json), errors: stderr);
            if (p.GetValue(tier) == "memory")
            {
                var (kill, removeTmpfs) = p.GetValue(killNode) is { } kn ? (kn, true) : (p.GetValue(killProcess), false);
                var memory = new MemoryDemo(p.GetValue(replicas), p.GetValue(diskEvery),
                    kill is null ? Array.Empty<int>() : NodeIndices.Parse(removeTmpfs ? "--kill-node" : "--kill-process", kill, p.GetValue(nodes)).Indices!,
                    removeTmpfs, Path.GetFullPath(p.GetValue(replicasDir) ?? MemoryDemo.DefaultDirectory));
                return MemoryDemoRunner.RunAsync(options, p.GetValue(nodes), p.GetValue(placement)!, memory, output).GetAwaiter().GetResult();
            }
            return (p.GetValue(nodes) > 1 && !options.Check
                ? ClusterDemoRunner.RunAsync(options, p.GetValue(nodes), p.GetValue(placement)!, output)
                : DemoRunner.RunAsync(options, output)).GetAwaiter().GetResult();
        }));

        var trainRanks = CliOptions.Int("--ranks", "Data-parallel ranks (the tensor-parallel layer is split over them too)", 2, 1, TrainRunner.GlobalBatch);
        var trainSteps = CliOptions.Int("--steps", "Train until this step", 60, 1, 1_000_000);
        var ckptEvery = CliOptions.Int("--ckpt-every", "Save a checkpoint every this many steps (asynchronously)", 10, 1, 1_000_000);
        var resume = new Option<bool>("--resume") { Description = "Continue from the newest committed checkpoint in --dir" };
        var train = new Command("train", "Train a small TorchSharp MLP data- and tensor-parallel on synthetic data, printing the loss of every step, with async checkpoints")
        {
            dir, trainRanks, trainSteps, ckptEvery, seed, resume, create, json, config,
        };
        CreateOnlyWithObjectStore(train, dir, create);
        train.SetAction(p => Guard(p, () =>
        {
            RootChecks.NotAFile(p.GetValue(dir)!, "--dir");
            return TrainRunner.RunAsync(new TrainRunner.Options(p.GetValue(dir)!, p.GetValue(trainRanks), p.GetValue(trainSteps),
                p.GetValue(ckptEvery), p.GetValue(seed), p.GetValue(resume), p.GetValue(config), p.GetValue(create), p.GetValue(verbose)), new CliOutput(stdout, p.GetValue(json), errors: stderr)).GetAwaiter().GetResult();
        }));

        var nodeConfig = new Option<string>("--config") { Description = "HOCON file of the node (must set actorckpt.root)", Required = true }.ExistingFile();
        var port = CliOptions.OptionalInt("--port", "TCP port on 127.0.0.1 (default: from the config, 0 for any free port)", 0, 65535);
        var seeds = new Option<string[]>("--seed") { Description = "host:port of a node to join (repeat for several)", AllowMultipleArgumentsPerToken = false };
        seeds.Validators.Add(r =>
        {
            foreach (var token in r.Tokens)
                if (NodeCommand.ParseSeed(token.Value) is null)
                    r.AddError($"--seed '{token.Value}' is not host:port (a port from 1 to 65535)");
        });
        var roles = new Option<string?>("--roles") { Description = "Comma-separated roles: rank, writer, planner (default: all three)" };
        roles.Validators.Add(r =>
        {
            foreach (var token in r.Tokens)
            {
                var entries = token.Value.Split(',', StringSplitOptions.TrimEntries);
                // An empty list would start the node with all three roles, as if --roles were not given.
                if (entries.All(e => e.Length == 0))
                    r.AddError($"--roles '{token.Value}' names no role (one of: {string.Join(", ", NodeCommand.Roles)})");
                // "rank,,writer": a role left out by a typo, not a list of two.
                else if (entries.Any(e => e.Length == 0))
                    r.AddError($"--roles '{token.Value}' has an empty role between its commas (one of: {string.Join(", ", NodeCommand.Roles)}, comma-separated)");
                foreach (var role in entries.Where(e => e.Length > 0 && !NodeCommand.Roles.Contains(e, StringComparer.Ordinal)))
                    r.AddError($"--roles '{role}' is not a role; did you mean '{Nearest.Of(role, NodeCommand.Roles)}'? (one of: {string.Join(", ", NodeCommand.Roles)})");
            }
        });
        var host = new Option<string?>("--host") { Description = "This node's memory-tier host (failure domain): sets actorckpt.tiers.memory.host" };
        host.Validators.Add(r =>
        {
            foreach (var token in r.Tokens)
                if (ReplicaLayout.HostProblem(token.Value) is { } problem)
                    r.AddError($"--host: {problem}");
        });
        var node = new Command("node", "Start a cluster node and run until SIGTERM, Ctrl-C or SIGHUP (which leave the cluster gracefully)") { nodeConfig, port, seeds, roles, host };
        node.SetAction(p => Guard(p, () => NodeCommand.RunAsync(p.GetValue(nodeConfig)!, p.GetValue(port), p.GetValue(seeds) ?? Array.Empty<string>(),
            p.GetValue(roles)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), new CliOutput(stdout, json: false, errors: stderr), p.GetValue(host)).GetAwaiter().GetResult()));

        var dirArg = new Argument<string>("DIR") { Description = "Checkpoint directory" }.AsRoot();
        var step = CliOptions.OptionalStep("--step", "The step (default: the newest committed)");
        var metadataJson = new Option<bool>("--metadata-json")
        {
            Description = "Print the step's metadata (the newest committed without --step) as the version-1 JSON document, whatever form it is stored in",
        };
        var inspect = new Command("inspect", "List the committed steps, or one step's tensors, chunks, files and sizes") { dirArg, step, json, config, metadataJson };
        inspect.SetAction(p => Guard(p, () => InspectCommand.Run(p.GetValue(dirArg)!, p.GetValue(step), ReadConfig(p.GetValue(config), p.GetValue(verbose)), new CliOutput(stdout, p.GetValue(json), errors: stderr),
            p.GetValue(metadataJson) ? stdout : null)));

        var verify = new Command("verify", "Check a committed step against its catalog and its files' headers, and recompute every checksum") { dirArg, step, json, config };
        verify.SetAction(p => Guard(p, () => VerifyCommand.Run(p.GetValue(dirArg)!, p.GetValue(step), ReadConfig(p.GetValue(config), p.GetValue(verbose)), new CliOutput(stdout, p.GetValue(json), errors: stderr))));

        var rootArg = new Argument<string>("ROOT") { Description = "Checkpoint root directory" }.AsRoot();
        var ls = new Command("ls", "The catalog: every checkpoint with its step, status (committed, aborted, deleted, in-flight), size and time") { rootArg, json, config };
        ls.SetAction(p => Guard(p, () => ListCommand.RunAsync(p.GetValue(rootArg)!, ReadConfig(p.GetValue(config), p.GetValue(verbose)), new CliOutput(stdout, p.GetValue(json), errors: stderr)).GetAwaiter().GetResult()));

        var gc = new Command("gc", "Remove the debris of uncommitted saves and apply retention (actorckpt.retention in --config) now") { rootArg, json, config };
        gc.SetAction(p => Guard(p, () => GcCommand.RunAsync(p.GetValue(rootArg)!, ReadConfig(p.GetValue(config), p.GetValue(verbose)), new CliOutput(stdout, p.GetValue(json), errors: stderr)).GetAwaiter().GetResult()));

        var rebuild = new Command("rebuild", "A new catalog from the steps on disk, each verified byte for byte first (a step that fails goes to ROOT/quarantine); the old catalog is kept, renamed")
        {
            rootArg, json, config,
        };
        rebuild.SetAction(p => Guard(p, () => CatalogRebuildCommand.RunAsync(p.GetValue(rootArg)!, ReadConfig(p.GetValue(config), p.GetValue(verbose)), new CliOutput(stdout, p.GetValue(json), errors: stderr)).GetAwaiter().GetResult()));
        var catalog = new Command("catalog", "Repair the catalog of a root") { rebuild };

        var outDir = new Option<string>("--out") { Description = "Output directory", Required = true }.NotEmpty();
        var maxShard = CliOptions.Size("--max-shard-size", "Largest output file (5GB, 500MB, 2GiB, or bytes)", "5GB", 1, 1L << 40);
        var indexFrom = new Option<string?>("--index-from") { Description = "A reference model.safetensors.index.json: keys keep its file numbers, new keys go to the last file" }.ExistingFile();
        var dtype = CliOptions.OneOf("--dtype", "Dtype of floating-point tensors", "keep", "keep", "bf16", "f32");
        var export = new Command("export", "Write a committed step in the Hugging Face layout: full tensors in model-0000i-of-0000N.safetensors and model.safetensors.index.json; optimizer state left out")
        {
            dirArg, outDir, step, maxShard, indexFrom, dtype, json, config,
        };
        export.SetAction(p => Guard(p, () => ExportCommand.Run(p.GetValue(dirArg)!, p.GetValue(outDir)!, p.GetValue(step), p.GetValue(maxShard),
            p.GetValue(indexFrom), p.GetValue(dtype)!, ReadConfig(p.GetValue(config), p.GetValue(verbose)), new CliOutput(stdout, p.GetValue(json), errors: stderr))));

        var strategy = CliOptions.RequiredOneOf("--strategy", "How full tensors are laid out in files", "one-file", "one-file-per-tensor", "chunks");
        var chunkSize = CliOptions.Size("--chunk-size", "File size with --strategy chunks (bytes, or 500MB, 1GiB, ...)", "1GB", 1, 1L << 40);
        var optim = new Option<bool>("--optim") { Description = "Also the optimizer state (keys under optim. / optimizer.), under optim" };
        var unshard = new Command("unshard", "Write a committed step's full tensors as safetensors files: model.safetensors, model/<key>.safetensors or model/chunk-N.safetensors")
        {
            dirArg, outDir, strategy, chunkSize, optim, step, json, config,
        };
        unshard.SetAction(p => Guard(p, () => UnshardCommand.Run(p.GetValue(dirArg)!, p.GetValue(outDir)!, p.GetValue(strategy)!, p.GetValue(chunkSize),
            p.GetValue(optim), p.GetValue(step), ReadConfig(p.GetValue(config), p.GetValue(verbose)), new CliOutput(stdout, p.GetValue(json), errors: stderr))));

        var benchSize = CliOptions.Long("--size-mb", "Model size in MiB", 256, 1, MaxSizeMb);
        var benchTensors = CliOptions.Int("--tensors", "Number of tensors", 64, 1, MaxTensors);
        var benchRanks = CliOptions.Int("--ranks", "Ranks", 2, 1, MaxRanks);
        var benchLayout = CliOptions.OneOf("--layout", "sharded or replicated", "sharded", "sharded", "replicated");
        var benchRuns = CliOptions.Int("--runs", "Measured runs in this process, nothing deleted in between on disk (in memory each run first deletes the steps before the newest, as retention would); the report gives each and the medians", 1, 1, 100);
        var benchTier = CliOptions.OneOf("--tier", "disk, or memory with --nodes: saves to replicated host memory against saves to disk, and a lost node's recovery from its peers against a cold disk load", "disk", "disk", "memory");
        var benchReplicas = CliOptions.IntRangedByCommand("--replicas", "With --tier memory: copies of each shard, each on another node's host", 2, "1 to --nodes");
        var bench = new Command("bench", "Save and load, beside a raw baseline of the same files, and the targets")
        {
            dir, benchSize, benchTensors, benchRanks, benchLayout, benchRuns, nodes, placement, benchTier, benchReplicas, create, json, config,
        };
        CreateOnlyWithObjectStore(bench, dir, create);
        bench.Validators.Add(r => CrossCheck(() =>
        {
            var n = Given(r, nodes);
            if (Given(r, benchTier) != "memory")
            {
                if (r.GetResult(benchReplicas) is { Implicit: false }) r.AddError("--replicas needs --tier memory");
                else if (n <= 1 && r.GetResult(placement) is { Implicit: false }) r.AddError("--placement needs --nodes 2 or more (one process has one node)");
                return;
            }
            if (n < 2) r.AddError($"--tier memory needs --nodes 2 or more (each node process is a host of its own); got --nodes {n}");
            else if (ReplicasProblem(Given(r, benchReplicas), n) is { } rp) r.AddError(rp);
        }));
        bench.SetAction(p => Guard(p, () =>
        {
            RootChecks.NotAFile(p.GetValue(dir)!, "--dir");
            return BenchRunner.RunAsync(new BenchRunner.Options(
                p.GetValue(dir)!, p.GetValue(benchSize), p.GetValue(benchTensors), p.GetValue(benchRanks), p.GetValue(benchLayout)!,
                WithCreate(ReadConfig(p.GetValue(config), p.GetValue(verbose)), p.GetValue(create)), p.GetValue(nodes), p.GetValue(placement)!, p.GetValue(benchRuns), p.GetValue(benchTier)!, p.GetValue(benchReplicas)),
                new CliOutput(stdout, p.GetValue(json), errors: stderr)).GetAwaiter().GetResult();
        }));

        var planRanks = CliOptions.Int("--ranks", "Simulated ranks of the save", 4096, 1, 65_536);
        var planItems = CliOptions.Int("--items", "Items (tensors) per rank", 256, 1, 4096);
        var planLoadRanks = CliOptions.Int("--load-ranks", "Simulated ranks of the load (resharding)", 3000, 1, 65_536);
        var planWriters = CliOptions.Int("--writers", "Writers", 8, 1, 1024);
        var planRepeat = CliOptions.Int("--repeat", "Runs of each measurement (the median is reported)", 3, 1, 100);
        var planOnly = CliOptions.OneOf("--only", "What to time: all, or only the metadata (one save plan builds its layout)", "all", "all", "metadata");
        var benchPlan = new Command("bench-plan", "Time save and load planning at scale with simulated ranks (no tensors), and the cached save plan")
        {
            planRanks, planItems, planLoadRanks, planWriters, planRepeat, planOnly, json,
        };
        benchPlan.Validators.Add(r => CrossCheck(() =>
        {
            // Simulated items are held in memory at once: the default (4,096 x 256) is about 1 M; 16 M is a bound far above it.
            var items = (long)r.GetValue(planRanks) * r.GetValue(planItems);
            if (items > 16L << 20)
                r.AddError($"--ranks {r.GetValue(planRanks)} x --items {r.GetValue(planItems)} is {items} items (accepted: up to {16L << 20})");
        }));
        benchPlan.SetAction(p => Guard(p, () => PlanBenchRunner.Run(new PlanBenchRunner.Options(
            p.GetValue(planRanks), p.GetValue(planItems), p.GetValue(planLoadRanks), p.GetValue(planWriters), p.GetValue(planRepeat),
            p.GetValue(planOnly) == "metadata"), new CliOutput(stdout, p.GetValue(json), errors: stderr))));

        var root = new RootCommand("actorckpt: actor-based distributed checkpointing for TorchSharp training hosts")
        {
            demo, train, inspect, verify, ls, gc, catalog, export, unshard, bench, benchPlan, node,
        };
        root.Options.Add(verbose);
        return root;
    }

    /// <summary>Why <c>--replicas</c> does not go with <c>--nodes</c> <paramref name="nodes"/> (each copy on another node's host), or null.</summary>
    private static string? ReplicasProblem(int replicas, int nodes) =>
        replicas > nodes ? $"--replicas {replicas} is more than the {nodes} hosts of --nodes {nodes} (accepted: 1 to {nodes})"
        : replicas < 1 ? $"--replicas {replicas} is out of range (accepted: 1 to {nodes}, the hosts of --nodes {nodes})"
        : null;

    /// <summary>
    /// The value of <paramref name="option"/> in a command's validator: its default when it was not
    /// given (there the parse result holds no value for it yet).
    /// </summary>
    private static T Given<T>(System.CommandLine.Parsing.CommandResult r, Option<T> option) =>
        r.GetResult(option) is { Implicit: false } ? r.GetValue(option)! : option.DefaultValueFactory is { } factory ? factory(null!) : default!;

    /// <summary>Runs a check across options; skipped when one of them has no value because its own check refused it (that error is the one reported).</summary>
    private static void CrossCheck(Action check)
    {
        try
        {
            check();
        }
        catch (InvalidOperationException)
        {
        }
    }

    /// <summary>Refuses <c>--create</c> with a directory root, where it would do nothing (a directory is made without it).</summary>
    private static void CreateOnlyWithObjectStore(Command command, Option<string> dir, Option<bool> create) =>
        command.Validators.Add(r => CrossCheck(() =>
        {
            if (r.GetValue(create) && r.GetValue(dir) is { Length: > 0 } root && BlobStores.IsDirectory(root))
                r.AddError("--create goes with an az:// or s3:// --dir (it creates the container or bucket); a directory is made without it");
        }));

    /// <summary><paramref name="hocon"/> with <c>--create</c> applied over it: the flag wins over the file.</summary>
    internal static string? WithCreate(string? hocon, bool create) =>
        create ? (hocon ?? "") + "\nactorckpt.object-store.create-missing = on\n" : hocon;

    // The option checked that the file exists while parsing; reading it can still fail (a FIFO, a directory, no permission), which is an operation's failure.
    // Under the file: the tool's own logging (CliLogger), which a --config may change. After it: the file itself, when it
    // names the catalog, so that advice to rebuild a catalog names it.
    private static string ReadConfig(string? path, bool verbose) => CliLogger.Hocon(verbose) + (path is null ? "" : WithCatalogFile(path, UserHocon.ReadFile(path, "--config")));

    private static string WithCatalogFile(string path, string text) => text + ActorCkptConfig.NamingCatalogConfigFile(path, text);
}
