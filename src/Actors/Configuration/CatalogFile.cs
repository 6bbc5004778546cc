using Akka.Configuration;
using Microsoft.Data.Sqlite;

namespace ActorCkpt;

/// <summary>
/// The catalog's SQLite file must be a database file of its own: a symbolic link would put the
/// journal wherever the link points (outside the root, or into another job's catalog), and a
/// directory or special file is no database, and a path too long for SQLite never opens. Each is
/// refused before the journal opens it.
/// </summary>
internal static class CatalogFile
{
    /// <summary>
    /// The longest catalog path, in UTF-8 bytes, SQLite opens: its Unix file layer takes paths of at
    /// most 512 bytes, and the rollback journal beside the file adds "-journal". A longer one failed
    /// every start of the planner for two minutes with "unable to open database file".
    /// </summary>
    public const int MaxPathBytes = 512 - 8;

    /// <summary>The files SQLite keeps beside a database: its rollback journal, write-ahead log and shared memory.</summary>
    private static readonly string[] Companions = ["-journal", "-wal", "-shm"];

    // SQLite's result codes for a file that is damaged, or no database at all.
    private const int Corrupt = 11;
    private const int NotADatabase = 26;

    /// <summary>
    /// One line when the catalog in force is <paramref name="blobs"/>' own SQLite file and it is missing while
    /// the root holds a <c>catalog.mark</c>: the root's steps are recorded in a catalog kept elsewhere
    /// (PostgreSQL, a file outside it), and a new catalog made beside them would be a second one, whose
    /// retention and gc disagree with the first. Null otherwise.
    /// </summary>
    public static string? KeptElsewhere(Config config, IBlobStore blobs)
    {
        if (!ActorCkptConfig.CatalogInRoot(config, blobs.Root) || File.Exists(ActorCkptConfig.SqliteFile(config, blobs.Root))
            || !blobs.Exists(CheckpointLayout.MarkFile)) return null;
        return $"checkpoint root '{blobs.Root}' keeps its catalog outside it (it has a {CheckpointLayout.MarkFile} and no {CheckpointLayout.CatalogFile}): " +
               $"configure that catalog (actorckpt.catalog; for the tool, --config FILE), or give the root a catalog of its own from what is on disk with: " +
               $"actorckpt catalog rebuild {SharedCatalogCheck.ShellWord(blobs.Root)}";
    }

    /// <summary>Throws <see cref="ConfigurationException"/> naming the file when <paramref name="sqlite"/>'s data source is a link, not a regular file, or a path too long to open.</summary>
    public static void Check(SqliteConnectionStringBuilder sqlite)
    {
        var path = sqlite.DataSource;
        if (sqlite.Mode == SqliteOpenMode.Memory || path is "" or ":memory:") return;
        var bytes = System.Text.Encoding.UTF8.GetByteCount(Path.GetFullPath(path));
        if (bytes > MaxPathBytes)
            throw new ConfigurationException($"the catalog '{path}' is a path of {bytes} bytes, and SQLite opens a catalog at a path of at most {MaxPathBytes}: use a shorter checkpoint root, or put the catalog elsewhere (actorckpt.catalog.connection-string)");
        var info = new FileInfo(path);
        if (info.LinkTarget is { } target)
            throw new ConfigurationException($"the catalog '{path}' is a symbolic link to '{target}'; ActorCkpt does not follow it: put the database file itself there");
        if (Directory.Exists(path))
            throw new ConfigurationException($"the catalog '{path}' is a directory, not a database file");
        // SQLite would open a FIFO and wait on it for good: any other file that is not regular is refused by what it is.
        if (RegularFile.Kind(path) is not (FileKind.Regular or FileKind.Missing) and var kind)
            throw new ConfigurationException($"the catalog '{path}' is {NotARegularFileException.Describe(kind)}, not a database file");
        // SQLite opens its journal and WAL files beside the database by name, following links and waiting on a FIFO.
        foreach (var suffix in Companions)
            if (RegularFile.Kind(path + suffix) is not (FileKind.Regular or FileKind.Missing) and var companion)
                throw new ConfigurationException($"the catalog's '{path + suffix}' is {NotARegularFileException.Describe(companion)}, not a regular file: remove it (SQLite makes its own)");
    }

    /// <summary>
    /// On the node that will open it: opens an existing SQLite catalog read-only and checks its
    /// structure (<c>PRAGMA quick_check</c>, fast on a catalog's size), so that a damaged file fails
    /// the node's start at once with one line instead of failing every recovery of the planner. An
    /// absent or empty file is fine (it is created), unless its folder does not exist: SQLite cannot
    /// make it there, and the planner would fail every start until the node's start gave up.
    /// </summary>
    /// <remarks>
    /// With <paramref name="mustBeCreatable"/> (a root that can be written), a missing catalog's folder
    /// must take new files: SQLite's "unable to open database file" failed every start of the
    /// planner for two minutes, flooding the log. A probe file is made there and removed.
    /// </remarks>
    /// <param name="connectionString">The SQLite catalog's connection string.</param>
    /// <param name="rebuild">The command that rebuilds it, for the line naming damage (<see cref="ActorCkptConfig.RebuildCommand"/>).</param>
    /// <param name="mustBeCreatable">A root that can be written: a missing catalog's folder must take new files.</param>
    public static void Verify(string connectionString, string rebuild, bool mustBeCreatable = false)
    {
        var sqlite = new SqliteConnectionStringBuilder(connectionString);
        var path = sqlite.DataSource;
        if (sqlite.Mode == SqliteOpenMode.Memory || path is "" or ":memory:") return;
        if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } folder && !Directory.Exists(folder))
            throw new ConfigurationException($"actorckpt.catalog.connection-string: the catalog '{path}' cannot be made, its folder '{folder}' does not exist");
        if (!File.Exists(path))
        {
            if (mustBeCreatable) ProbeCreate(path);
            return;
        }
        if (new FileInfo(path).Length == 0) return;
        string? verdict;
        try
        {
            using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
            connection.Open();
            using var check = connection.CreateCommand();
            check.CommandText = "PRAGMA quick_check";
            verdict = check.ExecuteScalar() as string;
        }
        catch (SqliteException e) when (e.SqliteErrorCode is Corrupt or NotADatabase)
        {
            verdict = e.Message;
        }
        catch (SqliteException)
        {
            // Busy, locked, or a hot journal a read-only open cannot roll back (a process killed
            // mid-write): not damage; the journal opens it for writing and recovers it.
            return;
        }
        if (verdict != "ok")
            throw new ActorCkptException($"the catalog '{path}' is damaged ({verdict}); a new one is made from the checkpoints on disk, verifying each, by: {rebuild}");
    }

    private static void ProbeCreate(string path)
    {
        var probe = $"{path}.probe-{Environment.ProcessId}";
        try
        {
            new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose).Dispose();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException($"the catalog '{path}' cannot be created: its folder '{Path.GetDirectoryName(Path.GetFullPath(path))}' takes no new file ({e.Message.Replace(probe, path)})");
        }
    }
}
