using System.Runtime.Serialization;
using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using Microsoft.Data.Sqlite;

namespace ActorCkpt.Cli;

/// <summary>
/// What a root's catalog recorded of its committed steps, read once by a command that reads the
/// root: the metadata checksum of each committed step, against which the reading commands check the
/// metadata they find (<see cref="StepConsistency"/>). A root has a catalog when a planner made it
/// (<see cref="CheckpointLayout.RootIdFile"/> is there) and journaled into it (SQLite's
/// <see cref="CheckpointLayout.CatalogFile"/> is there, or the catalog is a server's, set by
/// --config); without one, <see cref="None"/>, and the commands still cross-check metadata and headers.
/// Nothing is created: a catalog file that is absent is never opened.
/// </summary>
internal sealed class CatalogChecksums
{
    private readonly IReadOnlyDictionary<long, CatalogEntry>? _byStep;

    private CatalogChecksums(IReadOnlyDictionary<long, CatalogEntry>? byStep) => _byStep = byStep;

    /// <summary>No catalog: nothing to check metadata against.</summary>
    public static CatalogChecksums None { get; } = new(null);

    /// <summary>The checksum the catalog recorded when step <paramref name="step"/> committed; null when there is no catalog or it records no commit of it.</summary>
    public string? For(long step) =>
        _byStep?.GetValueOrDefault(step) is { Status: CheckpointStatus.Committed, MetadataChecksum: { Length: > 0 } checksum } ? checksum : null;

    /// <summary>The catalog's record of step <paramref name="step"/>; null when there is no catalog or it has none.</summary>
    public CatalogEntry? Entry(long step) => _byStep?.GetValueOrDefault(step);

    /// <summary>
    /// The steps the catalog records as committed to disk, oldest first (none without a catalog): each
    /// must have its metadata there, which the readers check (<see cref="ReaderSteps"/>). Steps it records
    /// as deleted or aborted, or in memory only, are not among them.
    /// </summary>
    public IReadOnlyList<long> OnDisk => _byStep is null ? [] : _byStep.Values.Where(e => e.OnDisk).Select(e => e.Step).Order().ToArray();

    /// <summary>
    /// Why the catalog does not vouch for committed step <paramref name="step"/> (it has no record of
    /// it, or records it as aborted or deleted: a commit its planner did not journal before it
    /// stopped, or a directory put there by hand); null when it records the commit or there is no catalog.
    /// </summary>
    public string? Unsettled(long step) => _byStep is null ? null : _byStep.GetValueOrDefault(step) switch
    {
        null => $"the catalog has no record of step {step}",
        { Status: CheckpointStatus.Committed } => null,
        var e => $"the catalog records step {step} as {ListCommand.Status(e.Status)}{(e.Reason is null ? "" : " (" + e.Reason + ")")}",
    };

    /// <summary>"was deleted" and why, when the catalog records step <paramref name="step"/> as deleted; null otherwise.</summary>
    public string? Deleted(long step) => _byStep?.GetValueOrDefault(step) is { Status: CheckpointStatus.Deleted } e
        ? "was deleted" + (e.Reason is null ? "" : $" ({e.Reason})")
        : null;

    /// <summary>
    /// Throws naming step <paramref name="step"/> when the catalog does not vouch for it
    /// (<see cref="Unsettled"/>), for a command that must not write from it.
    /// </summary>
    public void RequireSettled(long step)
    {
        if (Unsettled(step) is { } why)
            throw new ActorCkptException($"step {step} is committed on disk but {why}: a planner's next start settles it (actorckpt gc does now); nothing was written");
    }

    /// <summary>The catalog's last entry of each step among <paramref name="entries"/>.</summary>
    public static CatalogChecksums From(IEnumerable<CatalogEntry> entries) =>
        new(entries.GroupBy(e => e.Step).ToDictionary(g => g.Key, g => g.Last()));

    /// <summary>
    /// The catalog of <paramref name="root"/> with the configuration <paramref name="hocon"/> (the
    /// text of --config, or null), or <see cref="None"/> when the root has none. A catalog file that
    /// is damaged, a link or not a regular file is refused in one line (see <see cref="RootChecks.CheckCatalogFile"/>).
    /// </summary>
    public static CatalogChecksums Read(string root, string? hocon)
    {
        var node = NodeConfig.Checked(hocon);
        return HasCatalog(root, node) ? From(ReadEntriesAsync(root, node).GetAwaiter().GetResult()) : None;
    }

    /// <summary>
    /// True when <paramref name="root"/> has a catalog to read: a planner made the root, and its
    /// SQLite file is there (or the catalog is on a server).
    /// </summary>
    public static bool HasCatalog(string root, Config node) =>
        RootStore.HasRootId(root, node) && (RootStore.CatalogFile(root, node) is not { } file || Path.Exists(file));

    /// <summary>
    /// Every entry of the catalog of <paramref name="root"/>: straight from its SQLite file when it is
    /// one (<see cref="SqliteCatalogJournal"/>), else in a short-lived actor system by a
    /// <see cref="CatalogReaderActor"/>. Neither ever writes, so both are safe beside a running planner.
    /// The catalog file must be there: it is reported missing, never created by opening it. A catalog kept
    /// outside the root that belongs to another root (this one is its copy: <see cref="SharedCatalogCheck"/>)
    /// is refused in the planner's one line, rather than shown as this root's with its steps damaged or missing.
    /// </summary>
    public static async Task<IReadOnlyList<CatalogEntry>> ReadEntriesAsync(string root, Config node)
    {
        RootChecks.CheckCatalogFile(root, node, required: true);
        var config = ActorCkptConfig.WithCatalog(node, root);
        var store = new CheckpointStore(RootStore.Open(root, node));
        var persistenceId = CheckpointNode.CatalogId(store);
        var journal = await ReadJournalAsync(root, node, config, persistenceId);
        if (!ActorCkptConfig.CatalogInRoot(node, root))
        {
            // Read after the journal: a running planner marks before it journals, so its own root's mark is never behind what was read.
            var mark = store.ReadMark();
            if (SharedCatalogCheck.Problem(store.Blobs.Root, mark, journal.LastEvent, journal.LastOpened, ActorCkptConfig.CatalogName(config),
                    ActorCkptConfig.CatalogConfigFile(config)) is { } problem)
                throw new ActorCkptException(problem);
        }
        return journal.Entries;
    }

    // SQLite's result codes that say nothing of the file's content.
    private const int Busy = 5, Locked = 6, ReadOnly = 8, CantOpen = 14;

    private static async Task<JournalRead> ReadJournalAsync(string root, Config node, Config config, string persistenceId)
    {
        if (SqliteCatalogJournal.Applies(config))
        {
            var connection = ActorCkptConfig.CatalogConnection(node, root).ConnectionString;
            try
            {
                return SqliteCatalogJournal.Read(connection, persistenceId);
            }
            catch (SqliteException e) when (e.SqliteErrorCode is Busy or Locked or ReadOnly or CantOpen)
            {
                // Not damage: held by a writer, or a hot journal this user cannot roll back. A rebuild would throw away a sound catalog.
                throw new ActorCkptException($"the catalog '{new SqliteConnectionStringBuilder(connection).DataSource}' could not be read ({e.Message}): " + (e.SqliteErrorCode is Busy or Locked
                    ? "another process holds it; try again once it is done"
                    : "this user cannot open it, or cannot roll back what a writer killed mid-write left beside it; run the command as a user who may write the root"));
            }
            catch (Exception e) when (e is SqliteException or JsonException or SerializationException or InvalidCastException)
            {
                throw new ActorCkptException($"the catalog '{new SqliteConnectionStringBuilder(connection).DataSource}' could not be read ({e.Message}); " +
                                             $"a new one is made from the checkpoints on disk, verifying each, by: {ActorCkptConfig.RebuildCommand(node, root)}");
            }
        }
        // A server out of reach is one line now, not a minute of the journal's retries ending in an ask timeout.
        CatalogServer.VerifyWhenServer(ActorCkptConfig.CatalogConnection(node, root));
        var system = ActorSystem.Create("actorckpt-catalog-reader", config);
        try
        {
            var reader = system.ActorOf(CatalogReaderActor.Props(persistenceId));
            return await reader.Ask<JournalRead>(ReadJournal.Instance, TimeSpan.FromMinutes(1));
        }
        finally
        {
            await system.Terminate();
        }
    }
}
