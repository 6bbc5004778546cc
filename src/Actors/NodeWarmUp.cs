using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Microsoft.Data.Sqlite;
using TorchSharp;

namespace ActorCkpt;

/// <summary>
/// What a node runs once at start so that its first save and load cost what later ones do: the
/// save's code paths (staging copy, plan, fingerprint, xxHash3, metadata) on a tiny scratch state in
/// memory, and one journal write on a throwaway in-memory SQLite database (the catalog's own journal
/// is only read, by the planner's recovery). Nothing is written under the checkpoint root.
/// </summary>
internal static class NodeWarmUp
{
    /// <summary>The journal plugin the warm-up writes to: the catalog's settings on an in-memory database.</summary>
    public const string JournalPluginId = "akka.persistence.journal.actorckpt-warmup";

    /// <summary>The snapshot store of the warm-up actor (asked once, by its recovery).</summary>
    public const string SnapshotPluginId = "akka.persistence.snapshot-store.actorckpt-warmup";

    /// <summary>This process's in-memory warm-up database.</summary>
    public static readonly string Database = "actorckpt-warmup-" + Guid.NewGuid().ToString("N");

    /// <summary>
    /// Waits (up to <paramref name="timeout"/>) until <paramref name="planner"/> answers a command, asking
    /// again every <paramref name="reaskEvery"/> (5 s by default): a planner that fails just after it started
    /// loses what it was asked with its mailbox, and when it then gives up, its stand-in answers the next
    /// ask at once. Before, the warm-up waited out the whole plan timeout (60 s) before the start could
    /// say why the planner gave up.
    /// </summary>
    public static async Task PlannerAnsweredAsync(IActorRef planner, TimeSpan timeout, TimeSpan? reaskEvery = null)
    {
        var every = reaskEvery ?? TimeSpan.FromSeconds(5);
        var deadline = DateTime.UtcNow + timeout;
        for (var left = timeout; ; left = deadline - DateTime.UtcNow)
        {
            if (left <= TimeSpan.Zero) throw new AskTimeoutException($"the planner did not answer within {timeout}");
            try
            {
                await planner.Ask<WritersListed>(new ListWriters(), left < every ? left : every);
                return;
            }
            catch (AskTimeoutException)
            {
                // Asked again, unless the time is up.
            }
        }
    }

    /// <summary>
    /// The two warm-up plugins for <paramref name="config"/> (whose catalog is SQLite): copies of the
    /// catalog's, on a shared-cache in-memory database named <paramref name="database"/>.
    /// </summary>
    public static Config Plugins(Config config, string database)
    {
        var connection = System.Text.Json.JsonSerializer.Serialize($"Data Source={database};Mode=Memory;Cache=Shared;Pooling=False");
        return ConfigurationFactory.ParseString($$"""
            {{JournalPluginId}} { {{Render(config, ActorCkptConfig.JournalPluginId)}} }
            {{SnapshotPluginId}} { {{Render(config, ActorCkptConfig.SnapshotPluginId)}} }
            {{JournalPluginId}} { connection-string = {{connection}}, auto-initialize = on, plugin-id = "{{JournalPluginId}}" }
            {{SnapshotPluginId}} { connection-string = {{connection}}, auto-initialize = on, plugin-id = "{{SnapshotPluginId}}" }
            """);
    }

    /// <summary>
    /// <paramref name="config"/> with the warm-up journal added when its catalog is on SQLite (on
    /// PostgreSQL the first write is not warmed: a scratch database there would be the server's).
    /// </summary>
    public static Config WithJournal(Config config) =>
        config.GetString(ActorCkptConfig.JournalPluginId + ".provider-name") == "SQLite.MS" ? Plugins(config, Database).WithFallback(config) : config;

    // The plugin's settings as HOCON text, every key and value quoted: Config.ToString leaves them bare,
    // and the connection string holds the root's path, which may hold '=', '"' or '#'.
    private static string Render(Config config, string path)
    {
        var text = new System.Text.StringBuilder();
        foreach (var (key, value) in config.GetConfig(path).Root.GetObject().Items)
            Write(text.Append(Quoted(key)).Append(" = "), value).Append('\n');
        return text.ToString();
    }

    private static System.Text.StringBuilder Write(System.Text.StringBuilder text, Akka.Configuration.Hocon.HoconValue value)
    {
        if (value.IsObject())
        {
            text.Append("{ ");
            foreach (var (key, item) in value.GetObject().Items)
                Write(text.Append(Quoted(key)).Append(" = "), item).Append(", ");
            return text.Append('}');
        }
        if (value.IsArray())
        {
            text.Append('[');
            foreach (var item in value.GetArray()) Write(text, item).Append(", ");
            return text.Append(']');
        }
        // Empty, a value that is nothing, is written as the empty string it is read as.
        return text.Append(value.IsString() && value.GetString() is null ? "null" : Quoted(value.IsString() ? value.GetString() : ""));
    }

    private static string Quoted(string text) => System.Text.Json.JsonSerializer.Serialize(text);

    /// <summary>Runs the save's code paths on a scratch state of two ranks, in memory.</summary>
    public static void RunSavePaths(ActorCkptSettings settings)
    {
        using var scope = torch.NewDisposeScope();
        using var pool = new StagingPool();
        var plans = new List<LocalSavePlan>();
        var fingerprints = new List<ulong>();
        var staged = new List<StagedState>();
        for (var rank = 0; rank < 2; rank++)
        {
            var state = new RankState(rank, 2)
                .AddSharded("warmup.w", torch.ones(64, 64), 0, rank * 64, 128)
                .AddReplicated("warmup.b", torch.zeros(64))
                .AddObject("warmup.o", new byte[16], ObjectScope.Global);
            var prepared = StateStager.Prepare(state, settings.MaxItemBytes);
            var buffers = pool.RentAllAsync(prepared.Lengths, -1).GetAwaiter().GetResult();
            staged.Add(StateStager.Fill(prepared, buffers));
            plans.Add(prepared.Plan);
            fingerprints.Add(prepared.Fingerprint);
        }
        var plan = new SavePlanCache().GetOrCreate(plans, fingerprints, new[] { "warmup" },
            new Dictionary<int, string> { [0] = "warmup", [1] = "warmup" }, settings.Planning, "00000000");
        var results = plan.Files.Select(f => new FileWriteResult(f.FileName, f.DataBytes, f.Items.Select(i =>
        {
            var bytes = staged[f.Rank].BytesOf(i).Span;
            var block = BlockChecksums.SizeFor(bytes.Length, settings.ChecksumBlockSize);
            return new WrittenItem(i.StorageName, new StoredBytes(f.FileName, 0, bytes.Length, block, BlockChecksums.Compute(bytes, block)));
        }).ToArray())).ToArray();
        var metadata = MetadataBuilder.Build(0, plan, results, DateTimeOffset.UtcNow);
        _ = CheckpointStore.Checksum(MetadataJson.Serialize(metadata));
        foreach (var s in staged) pool.Return(s.Buffers);
    }

    /// <summary>One journal write and its recovery, on the in-memory warm-up database; completes when done.</summary>
    public static async Task WriteJournalAsync(ActorSystem system, string database, TimeSpan timeout)
    {
        // An in-memory SQLite database lives while a connection to it is open.
        await using var keepAlive = new SqliteConnection($"Data Source={database};Mode=Memory;Cache=Shared");
        await keepAlive.OpenAsync();
        var actor = system.ActorOf(Props.Create(() => new WarmUpJournalActor()), "actorckpt-warmup-" + Guid.NewGuid().ToString("N"));
        try
        {
            await actor.Ask<Akka.Done>(new SaveStarted(-1, Guid.NewGuid(), 1, "warmup", DateTimeOffset.UtcNow), timeout);
        }
        finally
        {
            actor.Tell(PoisonPill.Instance);
        }
    }

    private sealed class WarmUpJournalActor : ReceivePersistentActor
    {
        public WarmUpJournalActor()
        {
            JournalPluginId = NodeWarmUp.JournalPluginId;
            SnapshotPluginId = NodeWarmUp.SnapshotPluginId;
            Command<SaveStarted>(e =>
            {
                var replyTo = Sender;
                Persist(e, _ => replyTo.Tell(Akka.Done.Instance));
            });
        }

        // One of its own per warm-up: systems of one process share the in-memory database.
        public override string PersistenceId { get; } = "actorckpt-warmup-" + Guid.NewGuid().ToString("N");
    }
}
