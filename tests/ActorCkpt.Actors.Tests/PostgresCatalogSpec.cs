using Akka.Actor;
using Akka.Configuration;

namespace ActorCkpt.Actors.Tests;

public class PostgresCatalogSpec : IDisposable
{
    private static readonly IReadOnlyList<(string Key, DType DType, Layout Layout, long Rows, long Cols)> Model =
        TestStates.Model(new[] { DType.Float32 }, new[] { Layout.Rows, Layout.Replicated });

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly string _root = Path.Combine(Path.GetTempPath(), "actorckpt-pgroot-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private (ActorSystem System, CheckpointNode Node) Start(PostgresServer server, Func<IBlobStore, IBlobStore>? wrap = null, string? root = null, string user = "postgres",
        string extra = "")
    {
        root ??= _root;
        var connection = new Npgsql.NpgsqlConnectionStringBuilder(server.ConnectionString) { Username = user };
        var config = ConfigurationFactory.ParseString($$"""
            akka.loglevel = WARNING
            actorckpt.writer.pool-size = 2
            actorckpt.planner.start-attempts = 1
            actorckpt.catalog { provider = postgres, connection-string = "{{connection}}" }
            {{extra}}
            """).WithFallback(ActorCkptConfig.Defaults);
        var system = ActorSystem.Create("pg", ActorCkptConfig.WithCatalog(config, root));
        IBlobStore blobs = new LocalBlobStore(root);
        try
        {
            return (system, CheckpointNode.Start(system, wrap?.Invoke(blobs) ?? blobs));
        }
        catch
        {
            system.Terminate().Wait(Patience);
            throw;
        }
    }

    private static void Sql(PostgresServer server, string sql)
    {
        using var connection = new Npgsql.NpgsqlConnection(server.ConnectionString);
        connection.Open();
        using var command = new Npgsql.NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }

    [PostgresFact]
    public async Task A_planner_that_gave_up_while_the_server_was_down_should_start_again_once_it_is_back()
    {
        using var server = new PostgresServer();
        var (system, node) = Start(server, extra: "actorckpt.planner { start-attempts = 2, start-backoff = 10ms, start-again-after = 1s }");
        var states = TestStates.Build(Model, 1, seed: 5);
        await node.Save(1, states[0]).Committed.WaitAsync(Patience);

        // Down longer than the planner's tries: the save fails, and the planner gives up.
        server.Stop();
        await Assert.ThrowsAnyAsync<Exception>(() => node.Save(2, states[0]).Committed.WaitAsync(Patience));
        // Asked at once, a planner still stopping after the failed write says it runs: asked until it says otherwise.
        var gaveUp = await AwaitPlannerAsync(node, why => why is not null);
        Assert.StartsWith("the checkpoint planner could not start (", gaveUp);
        Assert.Contains("; it tries again every 1 s): ", gaveUp);

        // Back: the next try starts it, and a save commits. Before, it stayed given up until the process restarted.
        server.Start();
        await AwaitPlannerAsync(node, why => why is null);
        await node.Save(3, states[0]).Committed.WaitAsync(Patience);
        Assert.Equal(new long[] { 1, 3 }, node.Store.CommittedSteps());
        TestStates.Dispose(states);
        await system.Terminate();
    }

    /// <summary>
    /// Asks whether the planner gave up until <paramref name="settled"/> holds of the answer, which it returns
    /// (after the server is back, the journal's circuit breaker may refuse the first tries).
    /// </summary>
    private static async Task<string?> AwaitPlannerAsync(CheckpointNode node, Func<string?, bool> settled)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (true)
        {
            var why = await node.PlannerGaveUpAsync(Patience);
            if (settled(why)) return why;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the planner did not settle as expected: {why ?? "it runs"}");
            await Task.Delay(100);
        }
    }

    [PostgresFact]
    public async Task A_role_that_may_connect_but_not_start_the_journal_should_fail_the_start_at_once_in_one_line_naming_the_right_it_lacks()
    {
        using var server = new PostgresServer();
        var (first, node) = Start(server);
        Assert.Null(await node.PlannerGaveUpAsync(Patience));
        await first.Terminate();
        // As on PostgreSQL 15 and later, whatever the server's version: only the schema's owner creates in it.
        Sql(server, "REVOKE CREATE ON SCHEMA public FROM PUBLIC; CREATE ROLE ckpt LOGIN");
        var refusal = $"the catalog's PostgreSQL server 127.0.0.1:{server.Port} (database 'postgres') lets role 'ckpt' connect, but ";

        // Before: the planner's recovery timed out after 30 s, try after try, and its last line named no right
        // ("Recovery timed out, didn't get snapshot within 30s"); the cause was only in the logged errors.
        var noCreate = Assert.Throws<ConfigurationException>(() => Start(server, user: "ckpt"));
        Assert.Equal(refusal + "not create tables in schema 'public', which the journal's start needs even once its tables exist " +
                     "(GRANT CREATE ON SCHEMA public TO ckpt) (actorckpt.catalog.connection-string)", noCreate.Message);
        Sql(server, "GRANT CREATE ON SCHEMA public TO ckpt");
        var notOwner = Assert.Throws<ConfigurationException>(() => Start(server, user: "ckpt"));
        Assert.Equal(refusal + "table public.journal belongs to role 'postgres', and the journal's start must own its tables " +
                     "(ALTER TABLE public.journal OWNER TO ckpt) (actorckpt.catalog.connection-string)", notOwner.Message);

        // With those rights, the start and a save go through: the check asks for nothing the journal does without.
        Sql(server, "CREATE ROLE \"Catalog Owners\"; ALTER TABLE journal OWNER TO \"Catalog Owners\"; ALTER TABLE snapshot OWNER TO \"Catalog Owners\"");
        var partly = Assert.Throws<ConfigurationException>(() => Start(server, user: "ckpt"));
        Assert.Contains("table public.journal belongs to role 'Catalog Owners', and the journal's start must own its tables (ALTER TABLE public.journal OWNER TO ckpt)", partly.Message);
        Sql(server, "ALTER TABLE tags OWNER TO \"Catalog Owners\"; GRANT \"Catalog Owners\" TO ckpt");
        var (second, again) = Start(server, user: "ckpt");
        Assert.Null(await again.PlannerGaveUpAsync(Patience));
        var states = TestStates.Build(Model, 1, seed: 4);
        await again.Save(1, states[0]).Committed.WaitAsync(Patience);
        TestStates.Dispose(states);
        await second.Terminate();

        // The advice runs as printed: a keyword for a role name is quoted.
        Sql(server, "CREATE ROLE \"user\" LOGIN");
        Assert.Contains("(GRANT CREATE ON SCHEMA public TO \"user\")", Assert.Throws<ConfigurationException>(() => Start(server, user: "user")).Message);
        // The journal's tables are those of the role's first schema, where it creates them, not another schema's on its search_path.
        Sql(server, "CREATE ROLE own LOGIN; CREATE SCHEMA own AUTHORIZATION own; ALTER ROLE own SET search_path = own, public");
        var (third, ownSchema) = Start(server, user: "own", root: _root + "-own");
        Assert.Null(await ownSchema.PlannerGaveUpAsync(Patience));
        await third.Terminate();
        Directory.Delete(_root + "-own", recursive: true);
    }

    [PostgresFact]
    public async Task A_copy_started_while_the_original_runs_should_be_refused_and_a_claim_lost_with_its_session_made_again_or_given_up()
    {
        using var server = new PostgresServer();
        var copy = _root + "-fork";
        try
        {
            var (first, original) = Start(server);
            var states = TestStates.Build(Model, 1, seed: 6);
            await original.Save(1, states[0]).Committed.WaitAsync(Patience);
            RootCopy.Make(_root, copy);

            // Copied between two saves, so alike: the mark check passes the copy, the claim does not.
            // Before, its planner opened the catalog and the original's next save failed on the event number the copy took.
            var (second, copied) = Start(server, root: copy);
            var gaveUp = await copied.PlannerGaveUpAsync(Patience);
            await second.Terminate();
            // Not for good: the other planner may stop (a singleton moved to another node, its predecessor stopping).
            Assert.StartsWith("the checkpoint planner could not start (1 try; it tries again every 30 s): ", gaveUp);
            Assert.Contains($"): another planner holds the catalog (on PostgreSQL 127.0.0.1:{server.Port}, database 'postgres') of checkpoint root '{copy}' " +
                              $"('actorckpt planner pid {Environment.ProcessId} on {Environment.MachineName}', from 127.0.0.1, since ", gaveUp);
            Assert.EndsWith($"give it a catalog of its own with: actorckpt catalog rebuild {copy} --config FILE, FILE being the configuration that names this catalog", gaveUp);
            await original.Save(2, states[0]).Committed.WaitAsync(Patience);

            // The claim's session ended (a server restart, an administrator): the next journal write claims again, and the save goes through.
            Sql(server, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'actorckpt planner %'");
            await original.Save(3, states[0]).Committed.WaitAsync(Patience);
            // What the commands that read the catalog compare with the root's mark (actorckpt ls on a PostgreSQL catalog reads it so).
            var reading = ActorSystem.Create("pg-reader", first.Settings.Config);
            var journal = await reading.ActorOf(CatalogReaderActor.Props(CheckpointNode.CatalogId(original.Store))).Ask<JournalRead>(ReadJournal.Instance, Patience);
            await reading.Terminate();
            Assert.Equal((original.Store.ReadMark(), _root), (journal.LastEvent, journal.LastOpened?.Root));
            Assert.Equal(new long[] { 1, 2, 3 }, journal.Entries.Where(e => e.Status == CheckpointStatus.Committed).Select(e => e.Step));

            // Ended again, and another planner claimed the catalog meanwhile (a copy alike once more): the original's planner stops, writing nothing.
            Directory.Delete(copy, recursive: true);
            RootCopy.Make(_root, copy);
            Sql(server, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'actorckpt planner %'");
            var (third, forked) = Start(server, root: copy);
            Assert.Null(await forked.PlannerGaveUpAsync(Patience));
            await Assert.ThrowsAnyAsync<Exception>(() => original.Save(4, states[0]).Committed.WaitAsync(Patience));
            Assert.Contains($"nothing more is journaled: another planner holds the catalog (on PostgreSQL 127.0.0.1:{server.Port}, database 'postgres') of checkpoint root '{_root}' (",
                await AwaitPlannerAsync(original, why => why is not null));
            Assert.Equal(new long[] { 1, 2, 3 }, (await forked.Planner.Ask<CatalogRead>(new ReadCatalog(), Patience)).Entries
                .Where(e => e.Status == CheckpointStatus.Committed).Select(e => e.Step));
            TestStates.Dispose(states);
            await Task.WhenAll(first.Terminate(), third.Terminate());
        }
        finally
        {
            if (Directory.Exists(copy)) Directory.Delete(copy, recursive: true);
        }
    }

    [PostgresFact]
    public async Task A_planner_whose_claim_was_lost_should_write_nothing_once_another_planner_journaled_meanwhile_and_let_go()
    {
        using var server = new PostgresServer();
        var copy = _root + "-short";
        try
        {
            var (first, original) = Start(server);
            var states = TestStates.Build(Model, 1, seed: 8);
            await original.Save(1, states[0]).Committed.WaitAsync(Patience);
            // The claim's session ends (a server restart, a failover), and a copy alike runs a short job meanwhile (a gc), journaling its opening.
            Sql(server, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'actorckpt planner %'");
            RootCopy.Make(_root, copy);
            var (second, copied) = Start(server, root: copy);
            Assert.Null(await copied.PlannerGaveUpAsync(Patience));
            await second.Terminate();

            // Before, the original claimed again and wrote its next event under the number the copy had taken:
            // "23505: duplicate key value violates unique constraint", and its catalog then took in the copy's events.
            await Assert.ThrowsAnyAsync<Exception>(() => original.Save(2, states[0]).Committed.WaitAsync(Patience));
            var why = await AwaitPlannerAsync(original, w => w is not null);
            Assert.Contains($"): nothing more is journaled: the journal of the catalog (on PostgreSQL 127.0.0.1:{server.Port}, database 'postgres') of checkpoint root '{_root}' went on to event ", why);
            Assert.Contains("while its claim on the catalog was lost with its session: another planner ran on it meanwhile", why);
            await first.Terminate();
            TestStates.Dispose(states);

            // Nothing of the original's after the copy's opening: the journal ends with it, and the original is the copy's copy now.
            var (third, again) = Start(server);
            Assert.Contains($"(last opened from '{copy}' at ", await again.PlannerGaveUpAsync(Patience));
            await third.Terminate();
        }
        finally
        {
            if (Directory.Exists(copy)) Directory.Delete(copy, recursive: true);
        }
    }

    [PostgresFact]
    public async Task The_catalog_on_PostgreSQL_should_survive_a_crash_mid_save_and_recover_it()
    {
        using var server = new PostgresServer();
        var (first, node) = Start(server, blobs => new BlockingBlobStore(blobs, fromStep: 3));
        var states = TestStates.Build(Model, 2, seed: 1);
        foreach (var step in new long[] { 1, 2 })
            await Task.WhenAll(states.Select(s => node.Save(step, s).Committed)).WaitAsync(Patience);

        // Step 3 hangs mid-write; the process dies there (its actor system is gone, nothing is flushed).
        foreach (var s in states) _ = node.Save(3, s);
        var blocking = (BlockingBlobStore)node.Store.Blobs;
        await blocking.Entered.WaitAsync(Patience);
        await first.Terminate();
        blocking.Release();

        var (second, again) = Start(server);
        var catalog = (await again.Planner.Ask<CatalogRead>(new ReadCatalog(), Patience)).Entries;

        Assert.Equal(new[] { CheckpointStatus.Committed, CheckpointStatus.Committed, CheckpointStatus.Aborted }, catalog.Select(e => e.Status));
        Assert.Equal(CatalogReconciler.InterruptedReason, catalog[2].Reason);
        Assert.False(Directory.Exists(Path.Combine(_root, CheckpointLayout.StepDirectory(3))));
        Assert.False(File.Exists(Path.Combine(_root, CheckpointLayout.CatalogFile)), "the catalog went to SQLite, not PostgreSQL");
        await Task.WhenAll(states.Select(s => again.Save(3, s).Committed)).WaitAsync(Patience);
        var targets = TestStates.Empty(Model, 3);
        var results = await Task.WhenAll(targets.Select(t => again.LoadAsync(t))).WaitAsync(Patience);
        Assert.All(results, r => Assert.Equal(3, r.Step));
        Assert.Empty(TestStates.Differences(Model, targets, seed: 1));
        await second.Terminate();
        TestStates.Dispose(states.Concat(targets));

        // A copy of the root carries its id, so its catalog on the server: once the original opened it
        // again, the copy is refused before its planner settles (or deletes) anything.
        var copy = _root + "-copy";
        RootCopy.Make(_root, copy);
        var (third, original) = Start(server);
        Assert.Null(await original.PlannerGaveUpAsync(Patience));
        await third.Terminate();
        var (fourth, copied) = Start(server, root: copy);
        var gaveUp = await copied.PlannerGaveUpAsync(Patience);
        await fourth.Terminate();
        Directory.Delete(copy, recursive: true);
        Assert.StartsWith($"the checkpoint planner could not start: checkpoint root '{copy}' shares its catalog (on PostgreSQL ", gaveUp);
        Assert.Contains($"(last opened from '{_root}' at ", gaveUp);
    }
}
