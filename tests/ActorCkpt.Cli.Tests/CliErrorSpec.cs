using System.Buffers.Binary;
using System.Text;
using ActorCkpt.Cli;
using static ActorCkpt.Cli.Tests.ToolRun;

namespace ActorCkpt.Cli.Tests;

/// <summary>
/// Issue 15, the CLI: usage errors exit 2 on one line with the nearest valid flag, values out of
/// range are refused while parsing, read-only commands create nothing, outputs are bounded, and a
/// failure is one line (exit 1) with the stack trace only under --verbose. Each run has 30 s.
/// </summary>
public class CliErrorSpec : IDisposable
{
    private readonly TempDirectory _temp = new();

    public CliErrorSpec() => Directory.CreateDirectory(_temp.Path);

    /// <summary>A folder that exists and stays empty unless a test fills it; its tree is compared before and after.</summary>
    private string Parent => _temp.Path;

    /// <summary>A root that does not exist.</summary>
    private string Absent => Path.Combine(Parent, "absent");

    public void Dispose() => _temp.Dispose();

    /// <summary>Every file and folder under <paramref name="path"/> with file lengths, to show that nothing was created or changed.</summary>
    private static string[] Tree(string path) =>
        Directory.EnumerateFileSystemEntries(path, "*", SearchOption.AllDirectories)
            .Select(e => Path.GetRelativePath(path, e) + (File.Exists(e) ? " " + new FileInfo(e).Length : "/"))
            .Order(StringComparer.Ordinal).ToArray();

    private static string Line(string text) => text + Environment.NewLine;

    /// <summary>A committed step 1 of a small model in <paramref name="root"/>.</summary>
    private static void Demo(string root) =>
        Assert.Equal(0, Run("demo", "--dir", root, "--size-mb", "1", "--tensors", "4", "--ranks", "1", "--load-ranks", "1", "--layout", "sharded").Exit);

    [Theory]
    [InlineData("actorckpt: unknown option '--sise-mb'; did you mean '--size-mb'?", "demo", "--dir", "{absent}", "--sise-mb", "2")]
    [InlineData("actorckpt: unknown option '--sise-mb'; did you mean '--size-mb'?", "demo", "--sise-mb", "2")]
    [InlineData("actorckpt: unknown option '--jsn'; did you mean '--json'?", "verify", "{absent}", "--jsn")]
    [InlineData("actorckpt: unknown command 'lss'; did you mean 'ls'?", "lss", "{absent}")]
    [InlineData("actorckpt: unknown command 'exprot'; did you mean 'export'?", "exprot", "{absent}", "--out", "x")]
    [InlineData("actorckpt: unknown option '--nodes' before a command; did you mean 'actorckpt demo --nodes'?", "--nodes", "0")]
    [InlineData("actorckpt: actorckpt needs a command (one of: demo, train, inspect, verify, ls, gc, catalog, export, unshard, bench, bench-plan, node; see actorckpt --help)")]
    [InlineData("actorckpt: demo needs --dir", "demo", "--size-mb", "2")]
    [InlineData("actorckpt: --dir needs a value", "demo", "--dir")]
    [InlineData("actorckpt: --dir given 2 times ('{absent}', '{absent}/b'); give it once", "demo", "--dir", "{absent}", "--dir", "{absent}/b")]
    [InlineData("actorckpt: --size-mb given 2 times ('1', '2'); give it once", "demo", "--dir", "{absent}", "--size-mb", "1", "--size-mb", "2")]
    [InlineData("actorckpt: --resume given 2 times; give it once", "train", "--dir", "{absent}", "--resume", "--resume")]
    [InlineData("actorckpt: --verbose given 2 times; give it once", "verify", "{absent}", "--verbose", "--verbose")]
    [InlineData("actorckpt: --json given 2 times ('true', 'false'); give it once", "ls", "{absent}", "--json", "true", "--json", "false")]
    [InlineData("actorckpt: unshard needs --strategy", "unshard", "{absent}", "--out", "{absent}/out")]
    [InlineData("actorckpt: verify needs DIR (usage: verify DIR ...)", "verify")]
    [InlineData("actorckpt: --dir is empty: give a path", "demo", "--dir", "")]
    [InlineData("actorckpt: --create goes with an az:// or s3:// --dir (it creates the container or bucket); a directory is made without it", "demo", "--dir", "{absent}", "--create")]
    [InlineData("actorckpt: --create goes with an az:// or s3:// --dir (it creates the container or bucket); a directory is made without it", "train", "--dir", "{absent}", "--create")]
    [InlineData("actorckpt: --create goes with an az:// or s3:// --dir (it creates the container or bucket); a directory is made without it", "bench", "--dir", "{absent}", "--create")]
    [InlineData("actorckpt: --out is empty: give a path", "export", "{absent}", "--out", "")]
    [InlineData("actorckpt: catalog needs a command (one of: rebuild; see actorckpt catalog --help)", "catalog")]
    [InlineData("actorckpt: catalog rebuild needs ROOT (usage: catalog rebuild ROOT ...)", "catalog", "rebuild")]
    // Before: "unexpected argument 'rebuil' for 'catalog'", with no nearest command.
    [InlineData("actorckpt: unknown command 'rebuil' for 'catalog'; did you mean 'catalog rebuild'?", "catalog", "rebuil", "{absent}")]
    [InlineData("actorckpt: unexpected argument 'extra' for 'inspect'", "inspect", "{absent}", "extra")]
    [InlineData("actorckpt: --strategy 'one_file' is not accepted; did you mean 'one-file'? (one of: one-file, one-file-per-tensor, chunks)",
        "unshard", "{absent}", "--out", "{absent}/out", "--strategy", "one_file")]
    [InlineData("actorckpt: --roles 'writr' is not a role; did you mean 'writer'? (one of: rank, writer, planner)", "node", "--config", "{file}", "--roles", "rank,writr")]
    [InlineData("actorckpt: --roles ',' names no role (one of: rank, writer, planner)", "node", "--config", "{file}", "--roles", ",")]
    [InlineData("actorckpt: --roles 'rank,,writer' has an empty role between its commas (one of: rank, writer, planner, comma-separated)", "node", "--config", "{file}", "--roles", "rank,,writer")]
    [InlineData("actorckpt: --seed 'localhost' is not host:port (a port from 1 to 65535)", "node", "--config", "{file}", "--seed", "localhost")]
    [InlineData("actorckpt: --config '{absent}/node.conf' does not exist or is not a file", "ls", "{absent}", "--config", "{absent}/node.conf")]
    // Before, exit 1: File.Exists says yes to a link to nothing, so the config reader refused it later.
    [InlineData("actorckpt: --config '{dangling}' is a link to a file that does not exist", "ls", "{absent}", "--config", "{dangling}")]
    [InlineData("actorckpt: --tier memory needs --nodes 2 or more (each node process is a host of its own); got --nodes 1", "bench", "--dir", "{absent}", "--tier", "memory")]
    [InlineData("actorckpt: --replicas 3 is more than the 2 hosts of --nodes 2 (accepted: 1 to 2)", "bench", "--dir", "{absent}", "--nodes", "2", "--tier", "memory", "--replicas", "3")]
    [InlineData("actorckpt: --replicas needs --tier memory", "bench", "--dir", "{absent}", "--replicas", "3")]
    [InlineData("actorckpt: --placement needs --nodes 2 or more (one process has one node)", "bench", "--dir", "{absent}", "--placement", "spread")]
    [InlineData("actorckpt: --placement needs --nodes 2 or more (one process has one node)", "demo", "--dir", "{absent}", "--placement", "spread")]
    [InlineData("actorckpt: --nodes does not go with --check, which only loads the newest step, in this process", "demo", "--dir", "{absent}", "--check", "--nodes", "3")]
    [InlineData("actorckpt: --steps does not go with --check, which only loads the newest step, in this process", "demo", "--dir", "{absent}", "--check", "--steps", "2")]
    [InlineData("actorckpt: --index-from '{absent}/index.json' does not exist or is not a file", "export", "{absent}", "--out", "{absent}/hf", "--index-from", "{absent}/index.json")]
    public void A_usage_error_should_exit_2_with_one_line_naming_it_and_create_nothing(string expected, params string[] args)
    {
        var file = Path.Combine(Parent, "node.conf");
        File.WriteAllText(file, "");
        var dangling = Path.Combine(Parent, "dangling.conf");
        if (!Path.Exists(dangling) && RegularFile.Kind(dangling) == FileKind.Missing) File.CreateSymbolicLink(dangling, Path.Combine(Absent, "gone.conf"));
        string Fill(string s) => s.Replace("{absent}", Absent).Replace("{file}", file).Replace("{dangling}", dangling);
        var before = Tree(Parent);

        var (exit, output, err) = Run(args.Select(Fill).ToArray());

        Assert.Equal(2, exit);
        Assert.Equal(Line(Fill(expected)), err);
        Assert.Equal("", output);
        Assert.Equal(before, Tree(Parent));
    }

    [Theory]
    [InlineData("actorckpt: --nodes '0' is out of range (accepted: 1 to 16)", "demo", "--dir", "{absent}", "--nodes", "0")]
    [InlineData("actorckpt: --nodes 'two' is not a whole number (accepted: 1 to 16)", "demo", "--dir", "{absent}", "--nodes", "two")]
    [InlineData("actorckpt: --ranks '0' is out of range (accepted: 1 to 256)", "demo", "--dir", "{absent}", "--ranks", "0")]
    [InlineData("actorckpt: --load-ranks '-1' is out of range (accepted: 1 to 256)", "demo", "--dir", "{absent}", "--load-ranks", "-1")]
    [InlineData("actorckpt: --size-mb '0' is out of range (accepted: 1 to 65536)", "demo", "--dir", "{absent}", "--size-mb", "0")]
    [InlineData("actorckpt: --size-mb '99999999999999999999' is not a whole number (accepted: 1 to 65536)", "demo", "--dir", "{absent}", "--size-mb", "99999999999999999999")]
    [InlineData("actorckpt: --tensors '0' is out of range (accepted: 1 to 100000)", "demo", "--dir", "{absent}", "--tensors", "0")]
    [InlineData("actorckpt: --steps '0' is out of range (accepted: 1 to 10000)", "demo", "--dir", "{absent}", "--steps", "0")]
    [InlineData("actorckpt: --ranks 1 leaves a training node without ranks with --nodes 3 (accepted: 2 to 256)", "demo", "--dir", "{absent}", "--nodes", "3", "--ranks", "1")]
    [InlineData("actorckpt: --ranks 2 leaves a training node without ranks with --nodes 9 (accepted: 8 to 256)", "demo", "--dir", "{absent}", "--nodes", "9", "--ranks", "2")]
    [InlineData("actorckpt: --ranks 4 leaves a training node without ranks with --nodes 9 (accepted: 8 to 256)", "demo", "--dir", "{absent}", "--nodes", "9")]
    [InlineData("actorckpt: --tier memory needs --nodes 2 or more (each node process is a host of its own); got --nodes 1", "demo", "--dir", "{absent}", "--tier", "memory")]
    [InlineData("actorckpt: --tier 'ram' is not accepted; did you mean 'disk'? (one of: disk, memory)", "demo", "--dir", "{absent}", "--tier", "ram")]
    [InlineData("actorckpt: --kill-node needs --tier memory", "demo", "--dir", "{absent}", "--nodes", "3", "--kill-node", "1")]
    [InlineData("actorckpt: --replicas needs --tier memory", "demo", "--dir", "{absent}", "--nodes", "3", "--replicas", "2")]
    [InlineData("actorckpt: --kill-node and --kill-process exclude each other: give one of them", "demo", "--dir", "{absent}", "--nodes", "3", "--tier", "memory", "--kill-node", "1", "--kill-process", "2")]
    [InlineData("actorckpt: --kill-node '3': node 3 is not one of the 3 nodes of --nodes 3 (accepted: 0 to 2)", "demo", "--dir", "{absent}", "--nodes", "3", "--tier", "memory", "--kill-node", "3")]
    [InlineData("actorckpt: --replicas-dir is empty: give the tmpfs directory of the replicas", "demo", "--dir", "{absent}", "--nodes", "3", "--tier", "memory", "--replicas-dir", "")]
    [InlineData("actorckpt: --kill-process '0,x': 'x' is not a node index (accepted: comma-separated indices from 0 to 2)", "demo", "--dir", "{absent}", "--nodes", "3", "--tier", "memory", "--kill-process", "0,x")]
    [InlineData("actorckpt: --kill-process '1,1' names node 1 twice", "demo", "--dir", "{absent}", "--nodes", "3", "--tier", "memory", "--kill-process", "1,1")]
    [InlineData("actorckpt: --replicas 4 is more than the 3 hosts of --nodes 3 (accepted: 1 to 3)", "demo", "--dir", "{absent}", "--nodes", "3", "--tier", "memory", "--replicas", "4")]
    [InlineData("actorckpt: --replicas 0 is out of range (accepted: 1 to 3, the hosts of --nodes 3)", "demo", "--dir", "{absent}", "--nodes", "3", "--tier", "memory", "--replicas", "0")]
    [InlineData("actorckpt: --replicas -1 is out of range (accepted: 1 to 2, the hosts of --nodes 2)", "bench", "--dir", "{absent}", "--nodes", "2", "--tier", "memory", "--replicas", "-1")]
    [InlineData("actorckpt: --replicas 'two' is not a whole number (accepted: 1 to --nodes)", "demo", "--dir", "{absent}", "--nodes", "3", "--tier", "memory", "--replicas", "two")]
    [InlineData("actorckpt: --ranks 2 leaves a node without ranks with --nodes 3 --tier memory (accepted: 3 to 256)", "demo", "--dir", "{absent}", "--nodes", "3", "--tier", "memory", "--ranks", "2")]
    [InlineData("actorckpt: --host: host id 'a/b' holds '/': only letters, digits, '.', '_' and '-' are allowed", "node", "--config", "{file}", "--host", "a/b")]
    [InlineData("actorckpt: --ranks '33' is out of range (accepted: 1 to 32)", "train", "--dir", "{absent}", "--ranks", "33")]
    [InlineData("actorckpt: --ckpt-every '0' is out of range (accepted: 1 to 1000000)", "train", "--dir", "{absent}", "--ckpt-every", "0")]
    [InlineData("actorckpt: --ranks '0' is out of range (accepted: 1 to 256)", "bench", "--dir", "{absent}", "--ranks", "0")]
    [InlineData("actorckpt: --nodes '0' is out of range (accepted: 1 to 16)", "bench", "--dir", "{absent}", "--nodes", "0")]
    [InlineData("actorckpt: --size-mb '-5' is out of range (accepted: 1 to 65536)", "bench", "--dir", "{absent}", "--size-mb", "-5")]
    [InlineData("actorckpt: --repeat '0' is out of range (accepted: 1 to 100)", "bench-plan", "--repeat", "0")]
    [InlineData("actorckpt: --ranks 65536 x --items 4096 is 268435456 items (accepted: up to 16777216)", "bench-plan", "--ranks", "65536", "--items", "4096")]
    [InlineData("actorckpt: --port '70000' is out of range (accepted: 0 to 65535)", "node", "--config", "{file}", "--port", "70000")]
    [InlineData("actorckpt: --step '-1' is out of range (accepted: 0 to 9223372036854775807)", "inspect", "{absent}", "--step", "-1")]
    [InlineData("actorckpt: --max-shard-size '0' is out of range (accepted: 1 B to 1TiB)", "export", "{absent}", "--out", "{absent}/hf", "--max-shard-size", "0")]
    [InlineData("actorckpt: --max-shard-size '-5' is out of range (accepted: 1 B to 1TiB)", "export", "{absent}", "--out", "{absent}/hf", "--max-shard-size", "-5")]
    [InlineData("actorckpt: --config '/dev/null' is a character device, not a regular file", "ls", "{absent}", "--config", "/dev/null")]
    [InlineData("actorckpt: --max-shard-size '2TiB' is out of range (accepted: 1 B to 1TiB)", "export", "{absent}", "--out", "{absent}/hf", "--max-shard-size", "2TiB")]
    [InlineData("actorckpt: --chunk-size '99999999999999999999TB' is not a size (e.g. 5GB, 500MB, 2GiB or a number of bytes; accepted: 1 B to 1TiB)",
        "unshard", "{absent}", "--out", "{absent}/out", "--strategy", "chunks", "--chunk-size", "99999999999999999999TB")]
    public void A_value_out_of_range_should_be_refused_while_parsing_naming_the_option_the_value_and_the_range(string expected, params string[] args)
    {
        var file = Path.Combine(Parent, "node.conf");
        File.WriteAllText(file, "");
        var dangling = Path.Combine(Parent, "dangling.conf");
        if (!Path.Exists(dangling) && RegularFile.Kind(dangling) == FileKind.Missing) File.CreateSymbolicLink(dangling, Path.Combine(Absent, "gone.conf"));
        string Fill(string s) => s.Replace("{absent}", Absent).Replace("{file}", file).Replace("{dangling}", dangling);
        var before = Tree(Parent);

        var (exit, _, err) = Run(args.Select(Fill).ToArray());

        Assert.Equal(2, exit);
        Assert.Equal(Line(expected), err);
        Assert.Equal(before, Tree(Parent));
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("demo", "--help")]
    [InlineData("export", "--sise", "--help")]
    public void Help_should_still_print_the_help_and_exit_0(params string[] args)
    {
        var (exit, output, err) = Run(args);

        Assert.Equal(0, exit);
        Assert.Contains("Usage:", output);
        Assert.Equal("", err);
    }

    /// <summary>The arguments of <paramref name="command"/> (a reading command, or "demo-check") run on <paramref name="root"/>, outputs beside it.</summary>
    /// <summary>The commands that take a checkpoint root, as <see cref="OnRoot"/> spells them.</summary>
    public static TheoryData<string> RootCommands => new() { "ls", "inspect", "verify", "gc", "export", "unshard", "demo-check" };

    private string[] OnRoot(string command, string root) => command switch
    {
        "demo-check" => new[] { "demo", "--dir", root, "--check" },
        "export" => new[] { "export", root, "--out", Path.Combine(Parent, "hf") },
        "unshard" => new[] { "unshard", root, "--out", Path.Combine(Parent, "out"), "--strategy", "one-file" },
        _ => new[] { command, root },
    };

    [Theory]
    [MemberData(nameof(RootCommands))]
    public void A_command_on_a_missing_root_should_exit_1_with_one_line_and_create_nothing(string command)
    {
        var before = Tree(Parent);

        var (exit, _, err) = Run(OnRoot(command, Absent));

        Assert.Equal(1, exit);
        Assert.Equal(Line($"actorckpt: '{Absent}' does not exist"), err);
        Assert.Equal(before, Tree(Parent));
        Assert.False(Directory.Exists(Absent));
    }

    [Theory]
    [MemberData(nameof(RootCommands))]
    public void A_command_given_a_file_as_its_root_should_exit_1_with_one_line_saying_so(string command)
    {
        Directory.CreateDirectory(Parent);
        var file = Path.Combine(Parent, "a-file");
        File.WriteAllText(file, "not a checkpoint");
        var before = Tree(Parent);

        var (exit, _, err) = Run(OnRoot(command, file));

        Assert.Equal(1, exit);
        Assert.Equal(Line($"actorckpt: '{file}' is a file, not a directory"), err);
        Assert.Equal(before, Tree(Parent));
    }

    /// <summary>The commands that take a checkpoint root and --config, and catalog rebuild.</summary>
    public static TheoryData<string> ConfiguredCommands => new() { "ls", "inspect", "verify", "gc", "export", "unshard", "demo-check", "catalog-rebuild", "train" };

    [Theory]
    [MemberData(nameof(ConfiguredCommands))]
    public void A_misspelt_config_should_exit_1_naming_the_key_and_change_nothing(string command) =>
        // Before, these read the root as if no --config were given, and catalog rebuild moved the catalog aside first;
        // train printed Akka.Hosting's failed start, stack trace and all, on stdout.
        AssertConfigRefused(command, "actorckpt.writer.pool-sise = 8", _ => "actorckpt: actorckpt.writer.pool-sise is not a setting; did you mean actorckpt.writer.pool-size?");

    [Theory]
    [MemberData(nameof(ConfiguredCommands))]
    public void A_config_with_several_problems_should_name_each_in_the_one_line_apart(string command) =>
        // Before, joined by a space: "… such as 30s or 500ms actorckpt.writer.pool-size = …", where one problem ended unseen.
        AssertConfigRefused(command, "actorckpt.writer.pool-size = many\nactorckpt.planner.plan-timeout = 5\n", _ =>
            "actorckpt: actorckpt.planner.plan-timeout = '5': expected a duration with its unit, such as 30s or 500ms; actorckpt.writer.pool-size = 'many': expected an integer");

    [Theory]
    [MemberData(nameof(ConfiguredCommands))]
    public void A_config_with_a_brace_never_closed_should_exit_1_naming_its_line_and_change_nothing(string command) =>
        // Before, Akka's parser closed the section at the end of the file and the command applied it, exit 0.
        AssertConfigRefused(command, "actorckpt.retention {\n  keep-last = 1\n", config => $"actorckpt: --config '{config}': line 1: '{{' is never closed (a '}}' is missing)");

    [Theory]
    [MemberData(nameof(ConfiguredCommands))]
    public void A_config_Akka_refuses_should_exit_1_naming_the_file_and_change_nothing(string command) =>
        // Before, Akka's own message alone (no file named) reached the user, from wherever the text was parsed.
        AssertConfigRefused(command, "actorckpt.retention.keep-last = ${run.keep}\n", config => $"actorckpt: --config '{config}' does not parse as HOCON: Unresolved substitution: run.keep");

    [Theory]
    [MemberData(nameof(ConfiguredCommands))]
    public void A_config_on_which_Akkas_parser_never_returns_should_exit_1_naming_its_line_and_change_nothing(string command) =>
        // Before, the command never ended, its memory growing by about 100 MB a second.
        AssertConfigRefused(command, "actorckpt.retention.keep-last = 2\nakka.cluster.roles = [rank, writer = ]\n",
            config => $"actorckpt: --config '{config}': line 2: '=' where a value of an array should start, on which Akka's HOCON parser never returns: quote the value (\"...\") or close the array before it");

    /// <summary>Runs <paramref name="command"/> on a demo's root with a --config holding <paramref name="text"/>: exit 1, the one line <paramref name="expected"/> says (of the file's path), and nothing changed.</summary>
    private void AssertConfigRefused(string command, string text, Func<string, string> expected)
    {
        var root = Path.Combine(Parent, "ckpt");
        Demo(root);
        var config = Path.Combine(Parent, "wrong.conf");
        File.WriteAllText(config, text);
        var before = Tree(Parent);

        string[] args = command switch
        {
            "catalog-rebuild" => ["catalog", "rebuild", root],
            "train" => ["train", "--dir", root, "--steps", "1"],
            _ => OnRoot(command, root),
        };
        var (exit, stdout, err) = Run([.. args, "--config", config]);

        Assert.Equal((1, "", Line(expected(config))), (exit, stdout, err));
        Assert.Equal(before, Tree(Parent));
    }

    [Fact]
    public async Task A_save_failing_in_the_demo_across_node_processes_should_be_one_line_on_stderr()
    {
        var config = Path.Combine(Parent, "budget.conf");
        File.WriteAllText(config, "actorckpt.staging.budget = 64KiB");

        // It starts node processes: 24 s alone here, more beside other tests, so the default hang guard (30 s) is too near.
        var (exit, stdout, err) = await RunAsync(TimeSpan.FromMinutes(3), "demo", "--dir", Path.Combine(Parent, "ckpt"), "--nodes", "2", "--size-mb", "1", "--tensors", "4", "--config", config);

        // Before, it went to stdout only, and the save's own "save of step 1 failed: " once more in front.
        // Whichever node process's ranks answer first: their staged sizes differ.
        Assert.Equal(1, exit);
        Assert.Matches(@"^actorckpt: the state needs \d+ bytes of staging memory, which cannot fit in actorckpt.staging.budget = 65536 bytes: more than the whole budget\r?\n$", err);
        Assert.DoesNotContain("budget", stdout);
    }

    [Fact]
    public async Task A_bulk_channel_port_in_use_should_fail_the_node_s_start_in_one_line()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        var config = Path.Combine(Parent, "port.conf");
        await File.WriteAllTextAsync(config, $"actorckpt.transfer.channel.port = {port}");

        // Before: the cluster came up, and the first save failed every file after the writers' retries (some 30 s), each with the same text.
        var (exit, _, err) = await RunAsync(TimeSpan.FromMinutes(3), "demo", "--dir", Path.Combine(Parent, "ckpt"), "--nodes", "2", "--size-mb", "1", "--tensors", "2", "--ranks", "1", "--config", config);

        Assert.Equal((1, Line($"actorckpt: node 0 exited with code 1 before it was up; its last stderr: actorckpt: the bulk channel cannot listen on 127.0.0.1:{port} (actorckpt.transfer.channel): Address already in use")), (exit, err));
    }

    [Fact]
    public void A_root_or_a_replica_directory_that_cannot_be_made_should_be_named_in_one_line()
    {
        var config = Path.Combine(Parent, "memory.conf");
        File.WriteAllText(config, "actorckpt.tiers.memory { enabled = on, replicas = 1, host = h0, directory = \"/proc/nope\" }");

        // Before: "Could not find file '/proc/nope'.", naming neither --dir nor the setting.
        Assert.Equal((1, Line("actorckpt: checkpoint root '/proc/nope' cannot be made: Could not find file '/proc/nope'.")),
            Pick(Run("demo", "--dir", "/proc/nope", "--size-mb", "1", "--tensors", "2")));
        Assert.Equal((1, Line("actorckpt: actorckpt.tiers.memory.directory = '/proc/nope': the replicas cannot be kept there: Could not find file '/proc/nope'.")),
            Pick(Run("demo", "--dir", Path.Combine(Parent, "ckpt"), "--size-mb", "1", "--tensors", "2", "--config", config)));

        static (int, string) Pick((int Exit, string Out, string Err) run) => (run.Exit, run.Err);
    }

    [Fact]
    public async Task Bench_should_remove_only_what_a_bench_made_and_never_a_root_a_job_holds()
    {
        // A training job's root where the bench keeps its checkpoints: before, the bench deleted its steps, even while the job ran.
        var dir = Path.Combine(Parent, "shared");
        var root = Path.Combine(dir, "actorckpt");
        Demo(root);
        var before = Tree(dir);

        Assert.Equal((1, Line($"actorckpt: --dir '{dir}' holds '{root}', which no bench made (there is no .actorckpt-bench beside it): bench writes there and removes it at its next run; give it a --dir of its own")),
            Pick(Run("bench", "--dir", dir, "--size-mb", "1", "--tensors", "2", "--runs", "1")));
        Assert.Equal(before, Tree(dir));

        // A bench's own folder, which a job took over since: held, it stays.
        var benched = Path.Combine(Parent, "benched");
        Assert.Equal(0, Run("bench", "--dir", benched, "--size-mb", "1", "--tensors", "2", "--runs", "1").Exit);
        var held = Path.Combine(benched, "actorckpt");
        await using (Checkpointer.Start(held))
        {
            var kept = Tree(benched);
            var (exit, err) = Pick(Run("bench", "--dir", benched, "--size-mb", "1", "--tensors", "2", "--runs", "1"));
            Assert.Equal(1, exit);
            Assert.StartsWith($"actorckpt: bench removes '{held}' before it runs, but a running job holds it (", err);
            Assert.EndsWith("); nothing was removed" + Environment.NewLine, err);
            Assert.Equal(kept, Tree(benched));
        }
        // Free again, the bench's folders go as they always did.
        Assert.Equal(0, Run("bench", "--dir", benched, "--size-mb", "1", "--tensors", "2", "--runs", "1").Exit);

        static (int, string) Pick((int Exit, string Out, string Err) run) => (run.Exit, run.Err);
    }

    [Fact]
    public void Parallel_writers_failing_alike_should_end_in_the_first_ones_line_not_a_wrapper()
    {
        // A full disk fails both of export's writers at once.
        var both = new StringWriter();
        var exit = CommandFailure.Guard(both, verbose: false, () => throw new AggregateException(
            new IOException("No space left on device : 'model-00001-of-00002.safetensors.tmp'"), new IOException("No space left on device : 'model-00002-of-00002.safetensors.tmp'")));
        var mixed = new StringWriter();
        CommandFailure.Guard(mixed, verbose: false, () => throw new AggregateException(new IOException("a"), new InvalidOperationException("b")));

        Assert.Equal((1, Line("actorckpt: No space left on device : 'model-00001-of-00002.safetensors.tmp'")), (exit, both.ToString()));
        Assert.StartsWith("actorckpt: AggregateException: ", mixed.ToString());
    }

    [Fact]
    public void A_failure_quoting_a_key_with_a_nul_or_a_bidi_override_should_stay_one_readable_line()
    {
        var line = new StringWriter();
        CommandFailure.Guard(line, verbose: false, () => throw new ActorCkptException("'r0.safetensors': the header has no entry 'odd\u0000y\u202e' for entry 'odd\u0000y\u202e'"));
        Assert.Equal(Line("actorckpt: 'r0.safetensors': the header has no entry 'odd\\u0000y\\u202e' for entry 'odd\\u0000y\\u202e'"), line.ToString());
    }

    [Fact]
    public void A_libtorch_error_should_be_one_line_of_what_failed_and_where_not_its_cpp_stack()
    {
        var line = new StringWriter();
        var exit = CommandFailure.Guard(line, verbose: false, () => throw new System.Runtime.InteropServices.ExternalException(
            "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)\nException raised from meta at /pytorch/aten/src/ATen/native/LinearAlgebra.cpp:192 (most recent call first):\n" +
            "frame #0: c10::Error::Error(c10::SourceLocation, std::string) + 0x98\nframe #12: THSTensor_matmul + 0x26\n"));
        Assert.Equal((1, Line("actorckpt: libtorch: mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5) (raised in meta at /pytorch/aten/src/ATen/native/LinearAlgebra.cpp:192)")),
            (exit, line.ToString()));

        // The train crash a probe saw, as libtorch 2.10 worded it (2.3 KB in one line before).
        Assert.Equal("Expected false to be true, but got false. (raised in toFloat at /pytorch/c10/core/Scalar.h:140)",
            CommandFailure.LibTorchError("Expected false to be true, but got false.  (Could this error message be improved?  If so, please report an enhancement request to PyTorch.) " +
                                         "Exception raised from toFloat at /pytorch/c10/core/Scalar.h:140 (most recent call first): frame #0: c10::Error::Error(c10::SourceLocation, std::string) + 0x98 " +
                                         "frame #12: THSTensor_add_scalar_ + 0x4c"));
        Assert.Null(CommandFailure.LibTorchError("a plain message"));
    }

    [Fact]
    public void Reading_commands_on_an_empty_root_should_create_nothing_in_it()
    {
        var root = Path.Combine(Parent, "empty");
        Directory.CreateDirectory(root);

        var ls = Run("ls", root);
        var check = Run("demo", "--dir", root, "--check", "--size-mb", "1", "--tensors", "4");
        var verify = Run("verify", root);
        var inspect = Run("inspect", root);

        var noCatalog = Line($"actorckpt: '{root}' has no catalog ({CheckpointLayout.RootIdFile} is missing): no planner has run there");
        Assert.Equal((1, noCatalog), (ls.Exit, ls.Err));
        Assert.Equal((1, noCatalog), (check.Exit, check.Err));
        Assert.Equal((1, Line($"actorckpt: no committed checkpoint in '{root}'")), (verify.Exit, verify.Err));
        Assert.Equal((0, ""), (inspect.Exit, inspect.Err)); // lists no step, as before a job's first commit
        Assert.Empty(Tree(root));
    }

    [Fact]
    public void Ls_should_not_create_a_catalog_database_that_was_removed()
    {
        var root = Path.Combine(Parent, "root");
        Demo(root);
        File.Delete(Path.Combine(root, CheckpointLayout.CatalogFile));
        var before = Tree(root);

        var (exit, _, err) = Run("ls", root);

        Assert.Equal(1, exit);
        Assert.Equal(Line($"actorckpt: '{root}' has no catalog ({CheckpointLayout.CatalogFile} is missing; actorckpt gc ROOT makes a new one)"), err);
        Assert.Equal(before, Tree(root));
    }

    [Fact]
    public void Ls_of_a_root_with_another_roots_catalog_should_name_the_steps_committed_on_disk_it_does_not_record()
    {
        var (root, other) = (Path.Combine(Parent, "root"), Path.Combine(Parent, "other"));
        Demo(root);
        Demo(other);
        File.Copy(Path.Combine(other, CheckpointLayout.CatalogFile), Path.Combine(root, CheckpointLayout.CatalogFile), overwrite: true);

        var (exit, output, err) = Run("ls", root);

        // Before: "the catalog of … is empty" alone, with step 1 whole on disk (verify and inspect named it).
        Assert.Equal((0, ""), (exit, err));
        Assert.StartsWith(Line($"the catalog of {root} is empty") + Line($"step 1: {ListCommand.UnrecordedNote}"), output);
        var (_, json, _) = Run("ls", root, "--json");
        Assert.Equal([1L], System.Text.Json.JsonDocument.Parse(json.TrimEnd().Split('\n')[^1]).RootElement.GetProperty("unrecorded").EnumerateArray().Select(s => s.GetInt64()));

        // Its metadata unreadable as well, no planner takes it in (it is left alone): said so, not that the next start will.
        var metadata = Path.Combine(root, CheckpointLayout.StepDirectory(1), CheckpointLayout.MetadataFile);
        File.WriteAllText(metadata, "{ not json");
        (exit, output, err) = Run("ls", root);
        Assert.Equal((0, ""), (exit, err));
        var line = Assert.Single(output.Split('\n'), l => l.StartsWith("step 1: ", StringComparison.Ordinal));
        Assert.StartsWith($"step 1: committed on disk, but the catalog has no record of it and its metadata cannot be read ('{CheckpointLayout.StepDirectory(1)}/{CheckpointLayout.MetadataFile}': ", line);
        Assert.EndsWith("no planner takes it in, and loads know nothing of it; actorckpt catalog rebuild ROOT moves it into quarantine", line);
        (_, json, _) = Run("ls", root, "--json");
        Assert.True(System.Text.Json.JsonDocument.Parse(json.TrimEnd().Split('\n')[^1]).RootElement.GetProperty("unrecorded_damage").TryGetProperty("1", out _));
    }

    [Fact]
    public void Ls_of_a_root_whose_planner_was_killed_before_it_journaled_anything_should_show_an_empty_catalog_and_create_nothing()
    {
        var root = Path.Combine(Parent, "root");
        Demo(root);
        File.Delete(Path.Combine(root, CheckpointLayout.CatalogFile));
        foreach (var step in Directory.GetDirectories(root, "step-*")) Directory.Delete(step, recursive: true);
        var before = Tree(root);

        var (exit, output, err) = Run("ls", root);

        Assert.Equal((0, ""), (exit, err));
        Assert.StartsWith(Line($"the catalog of {root} is empty"), output);
        Assert.Equal(before, Tree(root));
    }

    [Theory]
    [InlineData("ls", "garbage")]
    [InlineData("ls", "fifo")]
    [InlineData("ls", "link")]
    [InlineData("gc", "garbage")]
    [InlineData("verify", "empty")]
    [InlineData("demo-check", "fifo")]
    public void A_catalog_file_that_is_not_a_sqlite_database_should_be_refused_at_once_without_opening_it(string command, string kind)
    {
        var root = Path.Combine(Parent, "root");
        Demo(root);
        var catalog = Path.Combine(root, CheckpointLayout.CatalogFile);
        File.Delete(catalog);
        switch (kind)
        {
            case "garbage":
                File.WriteAllBytes(catalog, Enumerable.Range(0, 4096).Select(i => (byte)(i * 7)).ToArray());
                break;
            case "fifo":
                using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", new[] { catalog })!) mkfifo.WaitForExit();
                break;
            case "empty":
                File.WriteAllBytes(catalog, []);
                break;
            default:
                File.CreateSymbolicLink(catalog, Path.Combine(Parent, "elsewhere.db"));
                break;
        }
        var before = Tree(root);

        var (exit, _, err) = Run(command == "demo-check"
            ? new[] { "demo", "--dir", root, "--check", "--size-mb", "1", "--tensors", "4", "--ranks", "1", "--load-ranks", "1", "--layout", "sharded" }
            : new[] { command, root });

        Assert.Equal(1, exit);
        Assert.Equal(Line(kind switch
        {
            "link" => $"actorckpt: the catalog '{catalog}' is a symbolic link to '{Path.Combine(Parent, "elsewhere.db")}'; ActorCkpt does not follow it: put the database file itself there",
            "fifo" => $"actorckpt: the catalog '{catalog}' is a FIFO, not a database file",
            // Before: "… (0 bytes, no SQLite header): the catalog is damaged", while a save took it for a new catalog.
            "empty" => $"actorckpt: '{catalog}' is empty (0 bytes): the catalog records nothing; actorckpt gc ROOT makes a new one, as for a missing catalog",
            // Before: no word of the repair.
            _ => $"actorckpt: '{catalog}' is not a SQLite database (4096 bytes, no SQLite header): the catalog is damaged; a new one is made from the checkpoints on disk, verifying each, by: actorckpt catalog rebuild {root}",
        }), err);
        Assert.Equal(before, Tree(root));
    }

    [Fact]
    public void A_catalog_another_process_holds_locked_should_be_named_so_not_damaged()
    {
        var root = Path.Combine(Parent, "root");
        Demo(root);
        var catalog = Path.Combine(root, CheckpointLayout.CatalogFile);
        using var holder = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={catalog};Pooling=False");
        holder.Open();
        using (var begin = holder.CreateCommand())
        {
            begin.CommandText = "begin exclusive";
            begin.ExecuteNonQuery();
        }

        var (exit, _, err) = Run("ls", root);

        // Before: after a minute, "could not be read (… 'database is locked'.); a new one is made … by: actorckpt catalog rebuild", for a sound catalog.
        Assert.Equal((1, Line($"actorckpt: the catalog '{catalog}' could not be read (SQLite Error 5: 'database is locked'.): another process holds it; try again once it is done")), (exit, err));
    }

    [Theory]
    [InlineData("verify")]
    [InlineData("ls")]
    [InlineData("export")]
    public void A_directory_in_place_of_the_root_s_id_should_be_refused_naming_it(string command)
    {
        // Before, ls and gc called it missing, and verify and export read the root as one without a catalog: no catalog check, exit 0.
        var root = Path.Combine(Parent, "root");
        Demo(root);
        var id = Path.Combine(root, CheckpointLayout.RootIdFile);
        File.Delete(id);
        Directory.CreateDirectory(id);
        var before = Tree(Parent);

        var (exit, output, err) = Run(command == "export" ? ["export", root, "--out", Path.Combine(Parent, "hf")] : [command, root]);

        Assert.Equal((1, "", Line($"actorckpt: '{id}' is a directory, not a regular file")), (exit, output, err));
        Assert.Equal(before, Tree(Parent));
    }

    [Theory]
    [InlineData("ls")]
    [InlineData("gc")]
    public void A_catalog_whose_pages_are_damaged_should_be_refused_at_once_in_one_line(string command)
    {
        var root = Path.Combine(Parent, "root");
        Demo(root);
        var catalog = Path.Combine(root, CheckpointLayout.CatalogFile);
        // The header stays (it still looks like SQLite); every page after it is garbage.
        var bytes = File.ReadAllBytes(catalog);
        for (var i = 100; i < bytes.Length; i++) bytes[i] = (byte)(i * 31);
        File.WriteAllBytes(catalog, bytes);
        var before = Tree(root);

        var (exit, _, err) = Run(new[] { command, root });

        Assert.Equal(1, exit);
        Assert.StartsWith($"actorckpt: the catalog '{catalog}' is damaged (SQLite Error ", err);
        Assert.EndsWith($"); a new one is made from the checkpoints on disk, verifying each, by: actorckpt catalog rebuild {root}" + Environment.NewLine, err);
        Assert.Single(err.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(before, Tree(root));
    }

    [Theory]
    [InlineData("ls")]
    [InlineData("gc")]
    [InlineData("verify")]
    public void A_catalog_record_of_a_negative_step_should_be_refused_as_damage_naming_the_catalog_and_the_rebuild(string command)
    {
        var root = Path.Combine(Parent, "root");
        Demo(root);
        var catalog = Path.Combine(root, CheckpointLayout.CatalogFile);
        // A hand-edited record: before, ls and gc said "step -3: steps are non-negative (Parameter 'step')", and verify exited 0.
        using (var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={catalog};Pooling=false"))
        {
            db.Open();
            using var read = db.CreateCommand();
            read.CommandText = "SELECT ordering, message FROM journal WHERE manifest = 'save-committed.v1' LIMIT 1";
            using var row = read.ExecuteReader();
            Assert.True(row.Read());
            var (ordering, record) = (row.GetInt64(0), System.Text.Json.Nodes.JsonNode.Parse((byte[])row.GetValue(1))!);
            row.Close();
            record["step"] = -3;
            using var write = db.CreateCommand();
            write.CommandText = "UPDATE journal SET message = $m WHERE ordering = $o";
            write.Parameters.AddWithValue("$m", System.Text.Encoding.UTF8.GetBytes(record.ToJsonString()));
            write.Parameters.AddWithValue("$o", ordering);
            Assert.Equal(1, write.ExecuteNonQuery());
        }
        var before = Tree(root);

        var (exit, output, err) = Run(command, root);

        Assert.Equal((1, "", Line($"actorckpt: the catalog '{catalog}' could not be read (catalog record 'save-committed.v1' is of step -3: steps are non-negative); " +
                                  $"a new one is made from the checkpoints on disk, verifying each, by: actorckpt catalog rebuild {root}")), (exit, output, err));
        Assert.Equal(before, Tree(root));
    }

    [Fact]
    public void Ls_inspect_and_verify_of_a_committed_root_should_change_nothing_in_it()
    {
        var root = Path.Combine(Parent, "root");
        Demo(root);
        var before = Tree(root);

        Assert.Equal(0, Run("ls", root).Exit);
        Assert.Equal(0, Run("inspect", root, "--step", "1").Exit);
        Assert.Equal(0, Run("verify", root).Exit);

        Assert.Equal(before, Tree(root));
    }

    [Theory]
    [InlineData("model-00001-of-99999.safetensors", "names 99999 files (accepted: up to 10000)")]
    [InlineData("model-00001-of-00500.safetensors", "names 500 files but holds tensors for only 1 of them")]
    [InlineData("../../etc/model-00001-of-00002.safetensors", "puts 'a' in '../../etc/model-00001-of-00002.safetensors', not a Hugging Face file name (model-0000i-of-0000N.safetensors)")]
    // A NUL and a newline in the name, escaped in the JSON: shown escaped, not echoed raw (before: a NUL on the terminal, a line broken in two).
    [InlineData("model\\u0000-00001-of-00002.safetensors\\n", "puts 'a' in 'model\\u0000-00001-of-00002.safetensors\\u000a', not a Hugging Face file name (model-0000i-of-0000N.safetensors)")]
    public void Export_should_refuse_a_hostile_reference_index_before_writing_anything(string fileName, string why)
    {
        var root = Path.Combine(Parent, "root");
        Demo(root);
        var index = Path.Combine(Parent, "index.json");
        File.WriteAllText(index, $$"""{ "metadata": {}, "weight_map": { "a": "{{fileName}}" } }""");
        var before = Tree(Parent);

        var (exit, _, err) = Run("export", root, "--out", Path.Combine(Parent, "hf"), "--index-from", index);

        Assert.Equal(1, exit);
        Assert.Equal(Line($"actorckpt: --index-from '{index}' {why}"), err);
        Assert.Equal(before, Tree(Parent));
    }

    [Theory]
    // Before: .NET's "InvalidOperationException: Cannot transcode invalid UTF-8 JSON text to UTF-16 string." naming neither file nor flag.
    [InlineData(new byte[] { 0xff }, "\"model-00001-of-00001.safetensors\"", "is not valid UTF-8 JSON: a name or value holds bytes that are not UTF-8")]
    // Before: "puts 'a' in ''", as if the name were empty.
    [InlineData(new byte[] { (byte)'a' }, "5", "puts 'a' in a JSON number, not a file name (model-0000i-of-0000N.safetensors)")]
    public void Export_should_refuse_a_reference_index_whose_key_or_file_is_not_a_name(byte[] key, string value, string why)
    {
        var root = Path.Combine(Parent, "root");
        Demo(root);
        var index = Path.Combine(Parent, "index.json");
        File.WriteAllBytes(index, [.. "{\"weight_map\": {\""u8, .. key, .. "\": "u8, .. Encoding.UTF8.GetBytes(value), .. "}}"u8]);

        var (exit, _, err) = Run("export", root, "--out", Path.Combine(Parent, "hf"), "--index-from", index);

        Assert.Equal((1, Line($"actorckpt: --index-from '{index}' {why}")), (exit, err));
        Assert.False(Directory.Exists(Path.Combine(Parent, "hf")));
    }

    [Fact]
    public void Export_following_a_reference_that_names_keys_the_step_lacks_should_say_so()
    {
        var root = Path.Combine(Parent, "root");
        Demo(root);
        var keys = CheckpointReader.Open(root).ReadMetadata().Tensors.Keys.Order(StringComparer.Ordinal).ToArray();
        var index = Path.Combine(Parent, "index.json");
        var map = keys.Select(k => $"\"{k}\": \"model-00001-of-00002.safetensors\"").Append("\"not.in.ckpt\": \"model-00002-of-00002.safetensors\"");
        File.WriteAllText(index, $"{{\"weight_map\": {{{string.Join(", ", map)}}}}}");

        var (exit, stdout, err) = Run("export", root, "--out", Path.Combine(Parent, "hf"), "--index-from", index);

        // Followed as asked (file 2 is written, empty), and said: before, the key went without a word.
        Assert.Equal((0, ""), (exit, err));
        Assert.Contains(Line("note: --index-from names 1 key step 1 does not hold ('not.in.ckpt'); model-00002-of-00002.safetensors holds no tensor"), stdout);
    }

    [Fact]
    public void Export_should_refuse_a_reference_index_that_is_a_fifo_without_blocking_on_it()
    {
        var root = Path.Combine(Parent, "root");
        Demo(root);
        var index = Path.Combine(Parent, "index.json");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", new[] { index })!) mkfifo.WaitForExit();
        var before = Tree(Parent);

        var (exit, _, err) = Run("export", root, "--out", Path.Combine(Parent, "hf"), "--index-from", index);

        // Refused while parsing, as a usage error naming what it is (before, exit 1: "is empty or not a regular file").
        Assert.Equal(2, exit);
        Assert.Equal(Line($"actorckpt: --index-from '{index}' is a FIFO, not a regular file"), err);
        Assert.Equal(before, Tree(Parent));
    }

    [Fact]
    public void Export_should_refuse_a_reference_index_with_a_key_twice()
    {
        var root = Path.Combine(Parent, "root");
        Demo(root);
        var index = Path.Combine(Parent, "index.json");
        File.WriteAllText(index, """{ "weight_map": { "a": "model-00001-of-00001.safetensors", "a": "model-00001-of-00001.safetensors" } }""");

        var (exit, _, err) = Run("export", root, "--out", Path.Combine(Parent, "hf"), "--index-from", index);

        Assert.Equal(1, exit);
        Assert.Equal(Line($"actorckpt: --index-from '{index}' has 'a' twice in weight_map"), err);
        Assert.False(Directory.Exists(Path.Combine(Parent, "hf")));
    }

    [Fact]
    public void A_safetensors_header_with_metadata_twice_should_be_refused()
    {
        var json = Encoding.UTF8.GetBytes("""{"__metadata__":{"format":"pt"},"__metadata__":{"format":"np"},"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""");
        var bytes = new byte[8 + json.Length + 4];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Length);
        json.CopyTo(bytes, 8);
        File.WriteAllBytes(Path.Combine(Parent, "twice.safetensors"), bytes);

        using var reader = new LocalBlobStore(Parent).OpenRead("twice.safetensors");
        var e = Assert.Throws<CheckpointFormatException>(() => SafetensorsHeader.Read(reader, "twice.safetensors"));

        Assert.Contains("header has '__metadata__' twice", e.Message);
    }

    [Theory]
    [InlineData("inspect")]
    [InlineData("verify")]
    [InlineData("export")]
    [InlineData("unshard")]
    public void A_missing_step_should_be_one_line_and_exit_1(string command)
    {
        var root = Path.Combine(Parent, "root");
        Demo(root);
        var before = Tree(Parent);
        var args = command switch
        {
            "export" => new[] { "export", root, "--out", Path.Combine(Parent, "hf"), "--step", "7" },
            "unshard" => new[] { "unshard", root, "--out", Path.Combine(Parent, "out"), "--strategy", "one-file", "--step", "7" },
            _ => new[] { command, root, "--step", "7" },
        };

        var (exit, _, err) = Run(args);

        Assert.Equal(1, exit);
        Assert.Equal(Line($"actorckpt: step 7 is not a committed checkpoint in '{Path.GetFullPath(root)}'"), err);
        Assert.Equal(before, Tree(Parent));
    }

    [Theory]
    [InlineData("inspect")]
    [InlineData("verify")]
    [InlineData("export")]
    [InlineData("unshard")]
    public void A_corrupted_metadata_json_should_be_one_line_and_exit_1(string command)
    {
        var root = Path.Combine(Parent, "root");
        Demo(root);
        File.WriteAllText(Path.Combine(root, "step-00000001", CheckpointLayout.MetadataFile), "{ \"step\": 1, garbage");
        var before = Tree(Parent);
        var args = command switch
        {
            "export" => new[] { "export", root, "--out", Path.Combine(Parent, "hf") },
            "unshard" => new[] { "unshard", root, "--out", Path.Combine(Parent, "out"), "--strategy", "one-file" },
            "inspect" => new[] { "inspect", root, "--step", "1" },
            _ => new[] { command, root },
        };

        var (exit, output, err) = Run(args);

        Assert.Equal(1, exit);
        Assert.Equal(Line("actorckpt: 'step-00000001/metadata.json': not an ActorCkpt metadata document (\"format\" is not \"actorckpt\")"), err);
        Assert.DoesNotContain("%", output); // no progress was shown for work that never started
        Assert.Equal(before, Tree(Parent));
    }

    [Fact]
    public void A_non_checkpoint_folder_should_be_one_line_and_exit_1_for_every_reader()
    {
        var folder = Path.Combine(Parent, "photos");
        Directory.CreateDirectory(Path.Combine(folder, "step-00000001"));
        File.WriteAllText(Path.Combine(folder, "step-00000001", CheckpointLayout.MetadataFile), "[1, 2, 3]");
        File.WriteAllText(Path.Combine(folder, CheckpointLayout.LatestFile), "1");
        File.WriteAllText(Path.Combine(folder, "cat.jpg"), "meow");
        var before = Tree(Parent);

        foreach (var args in new[]
                 {
                     new[] { "inspect", folder, "--step", "1" }, new[] { "verify", folder, "--step", "1" },
                     new[] { "export", folder, "--out", Path.Combine(Parent, "hf"), "--step", "1" },
                     new[] { "unshard", folder, "--out", Path.Combine(Parent, "out"), "--strategy", "chunks", "--step", "1" },
                 })
        {
            var (exit, _, err) = Run(args);
            Assert.Equal((args[0], 1, Line("actorckpt: 'step-00000001/metadata.json': not an ActorCkpt metadata document (\"format\" is not \"actorckpt\")")),
                (args[0], exit, err));
        }
        // ls and gc find no catalog there, and gc makes none.
        foreach (var command in new[] { "ls", "gc" })
        {
            var (exit, _, err) = Run(command, folder);
            Assert.Equal((command, 1, Line($"actorckpt: '{folder}' has no catalog ({CheckpointLayout.RootIdFile} is missing): no planner has run there")),
                (command, exit, err));
        }
        Assert.Equal(before, Tree(Parent));
    }

    [Fact]
    public void Verbose_should_add_the_stack_trace_after_the_one_line()
    {
        var root = Path.Combine(Parent, "root");
        Demo(root);
        File.WriteAllText(Path.Combine(root, "step-00000001", CheckpointLayout.MetadataFile), "{ garbage");

        var quiet = Run("verify", root, "--step", "1");
        var verbose = Run("verify", root, "--step", "1", "--verbose");

        Assert.Equal(1, quiet.Exit);
        Assert.Equal(1, verbose.Exit);
        Assert.Equal(Line("actorckpt: 'step-00000001/metadata.json': not an ActorCkpt metadata document (\"format\" is not \"actorckpt\")"), quiet.Err);
        // The same line, then the exception with its trace down to the command.
        Assert.StartsWith(quiet.Err + "ActorCkpt.CheckpointFormatException: 'step-00000001/metadata.json'", verbose.Err);
        Assert.Contains("   at ActorCkpt.Cli.VerifyCommand.Run(", verbose.Err);
    }

    [Theory]
    [InlineData("demo")]
    [InlineData("bench")]
    [InlineData("train")]
    public void A_runner_given_a_file_as_its_directory_should_fail_in_one_line(string command)
    {
        var file = Path.Combine(Parent, "not-a-dir");
        File.WriteAllText(file, "x");
        var args = command switch
        {
            "demo" => new[] { "demo", "--dir", file, "--size-mb", "1", "--tensors", "2", "--ranks", "1", "--load-ranks", "1" },
            "bench" => new[] { "bench", "--dir", file, "--size-mb", "1", "--tensors", "2", "--ranks", "1" },
            _ => new[] { "train", "--dir", file, "--steps", "2", "--ranks", "1" },
        };

        var before = Tree(Parent);

        var (exit, _, err) = Run(args);

        Assert.Equal(1, exit);
        Assert.Equal(Line($"actorckpt: --dir '{file}' is not a directory"), err);
        Assert.Equal(before, Tree(Parent));
    }

    [Fact]
    public void A_node_whose_config_is_cut_short_should_fail_in_one_line()
    {
        var config = Path.Combine(Parent, "bad.conf");
        File.WriteAllText(config, "actorckpt { root = ");

        var (exit, _, err) = Run("node", "--config", config);

        // Its brace is never closed: named before the missing root, which Akka's parser would have reported next.
        Assert.Equal(1, exit);
        Assert.Equal(Line($"actorckpt: --config '{config}': line 1: '{{' is never closed (a '}}' is missing)"), err);
        File.WriteAllText(config, "actorckpt.root = ");
        (exit, _, err) = Run("node", "--config", config);
        Assert.Equal((1, Line($"actorckpt: actorckpt.root is not set in '{config}': every node needs the shared checkpoint directory")), (exit, err));
        // Before: accepted, each node process resolving it against its own working directory.
        File.WriteAllText(config, "actorckpt.root = relative/root");
        (exit, _, err) = Run("node", "--config", config);
        Assert.Equal((1, Line($"actorckpt: actorckpt.root = 'relative/root' in '{config}': must be an absolute path (or an az:// or s3:// URI), the same for every node")), (exit, err));
    }

    [Fact]
    public void A_PostgreSQL_catalog_out_of_reach_should_be_one_line_for_the_readers_and_leave_a_rebuild_s_root_as_it_was()
    {
        var root = Path.Combine(Parent, "pg-root");
        Demo(root);
        var config = Path.Combine(Parent, "pg.conf");
        File.WriteAllText(config, "actorckpt.catalog { provider = postgres, connection-string = \"Host=127.0.0.1;Port=1;Username=u;Password=p;Database=d\" }\n");
        var reached = "actorckpt: the catalog's PostgreSQL server 127.0.0.1:1 (database 'd') cannot be reached: Failed to connect to 127.0.0.1:1";

        // Before: a minute of the journal's retries, hundreds of logged errors, then "AskTimeoutException: Timeout after 60.00 seconds".
        foreach (var command in new[] { "ls", "inspect", "gc" })
        {
            var (exit, _, err) = Run(command, root, "--config", config);
            Assert.Equal((command, 1, true, 1), (command, exit, err.StartsWith(reached, StringComparison.Ordinal), err.TrimEnd().Split('\n').Length));
        }
        // Before: the root's id was set aside first, and the failed rebuild left the root without a catalog.
        var id = File.ReadAllText(Path.Combine(root, CheckpointLayout.RootIdFile));
        var rebuild = Run("catalog", "rebuild", root, "--config", config);
        Assert.Equal((1, true), (rebuild.Exit, rebuild.Err.StartsWith(reached, StringComparison.Ordinal)));
        Assert.Equal(id, File.ReadAllText(Path.Combine(root, CheckpointLayout.RootIdFile)));
        Assert.Empty(Directory.GetFiles(root, CheckpointLayout.RootIdFile + ".replaced-*"));
    }
}
