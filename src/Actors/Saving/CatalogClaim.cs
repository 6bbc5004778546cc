using System.Globalization;
using System.IO.Hashing;
using System.Text;
using Akka.Configuration;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace ActorCkpt;

/// <summary>
/// One planner at a time on a catalog kept outside its root (on PostgreSQL, or in a SQLite file named
/// elsewhere). The root's own lock keeps a second planner off the root, but a copy of the root carries its
/// id, so it journals into the same catalog under the same persistence id; until the original journals
/// again the copy passes <see cref="SharedCatalogCheck"/>, and two planners running at once wrote the
/// same event numbers: saves failed on both sides, and each catalog took in the other's events. The claim
/// is held for the planner's life and checked before each journal write (<see cref="Ensure"/>): on PostgreSQL
/// a session advisory lock, which the server drops with the session (a killed process's at once, a lost
/// machine's after about 11 s of TCP keepalive, before a cluster has downed it and moved the planner); for a SQLite
/// file a lock file beside it, which the kernel drops with the process. Writes still in flight when a planner stops are
/// not waited for: a planner after it may meet them (a journal write refused, the planner restarted, as before).
/// </summary>
internal abstract class CatalogClaim : IDisposable
{
    /// <summary>
    /// Claims the catalog <paramref name="config"/> configures for <paramref name="root"/>'s journal
    /// <paramref name="persistenceId"/>, or null when the catalog is the root's own (its lock is the claim). Throws
    /// <see cref="ActorCkptException"/> in one line when another planner has the claim, or the claim could not be made.
    /// </summary>
    public static CatalogClaim? Take(Config config, string root, string persistenceId)
    {
        if (ActorCkptConfig.CatalogInRoot(config, root)) return null;
        var (provider, connection) = ActorCkptConfig.CatalogConnection(config, root);
        var catalog = ActorCkptConfig.CatalogName(config);
        var configFile = ActorCkptConfig.CatalogConfigFile(config);
        return provider == "SQLite.MS"
            ? FileClaim.Take(new SqliteConnectionStringBuilder(connection).DataSource, persistenceId, root, catalog, configFile)
            : ServerClaim.Take(connection, persistenceId, root, catalog, configFile);
    }

    /// <summary>
    /// Before a journal write, with <paramref name="journaled"/> the last event this planner's writes may have put in
    /// the journal: throws <see cref="ActorCkptException"/> when the claim is lost and cannot be made again (its session
    /// ended with the server's restart, and another planner holds the catalog now, or the server is out of reach), or
    /// was made again after another planner journaled meanwhile (and let go: a copy's short job).
    /// </summary>
    public virtual void Ensure(long journaled)
    {
    }

    /// <summary>
    /// The claim file's name beside SQLite file <paramref name="database"/> (a name): "catalogs.db.actorckpt-catalog-ID.claim";
    /// when that is too long for a file name with its holder record's suffix, a hash of the two in their place. Pure.
    /// </summary>
    internal static string FileName(string database, string persistenceId)
    {
        var name = $"{database}.{persistenceId}.claim";
        // A file name holds 255 bytes; the holder record adds ".holder" and, while written, ".PID.tmp".
        return Encoding.UTF8.GetByteCount(name) <= 224
            ? name
            : $"{XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(database + "\0" + persistenceId)):x16}.claim";
    }

    /// <inheritdoc />
    public abstract void Dispose();

    /// <summary>
    /// The refusal of <paramref name="root"/>'s claim on <paramref name="catalog"/> (configured in <paramref name="configFile"/>, when known)
    /// when <paramref name="holder"/> (as the claim's kind names it) has it.
    /// </summary>
    private static ActorCkptException Held(string root, string catalog, string? configFile, string holder) => new(
        $"another planner holds the catalog ({catalog}) of checkpoint root '{root}' ({holder}): this root's own planner elsewhere, " +
        "still stopping (a lost machine's for up to about 11 s), or the planner of a root of the same id, a copy of this one or the root it was copied from; " +
        "two planners on one catalog would each journal over the other's events. If the other root is the copy, stop its job and rebuild its catalog; " +
        "if this one is, give it a catalog of its own with: " + SharedCatalogCheck.Rebuild(root, configFile));

    /// <summary>A claim that could not be made for a reason other than another holder.</summary>
    private static ActorCkptException Failed(string root, string catalog, Exception e) =>
        new($"the catalog ({catalog}) of checkpoint root '{root}' could not be claimed for this planner: {e.Message.ReplaceLineEndings(" ")}", e);

    /// <summary>A lock file beside the SQLite file, one per journal in it (other roots' catalogs beside this one are not held up).</summary>
    private sealed class FileClaim : CatalogClaim
    {
        private readonly IDisposable _lock;

        private FileClaim(IDisposable held) => _lock = held;

        public static FileClaim Take(string database, string persistenceId, string root, string catalog, string? configFile)
        {
            var full = Path.GetFullPath(database);
            try
            {
                return new FileClaim(new LocalBlobStore(Path.GetDirectoryName(full)!).Lock(FileName(Path.GetFileName(full), persistenceId)));
            }
            catch (LockHeldException e)
            {
                throw Held(root, catalog, configFile, e.Message);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw Failed(root, catalog, e);
            }
        }

        public override void Dispose() => _lock.Dispose();
    }

    /// <summary>A session advisory lock on the PostgreSQL server, on a connection of its own held open for the planner's life.</summary>
    private sealed class ServerClaim : CatalogClaim
    {
        private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
        private readonly string _connectionString;
        private readonly string _persistenceId;
        private readonly string _root;
        private readonly string _catalog;
        private readonly string? _configFile;
        private NpgsqlConnection? _session;
        private long _key;

        private ServerClaim(string connectionString, string persistenceId, string root, string catalog, string? configFile)
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString)
            {
                // A pooled session would outlive the claim's release: the lock goes with the session, which must be one
                // connection to one server (neither multiplexed, which needs pooling, nor balanced over hosts).
                Pooling = false,
                Multiplexing = false,
                LoadBalanceHosts = false,
                Timeout = (int)Timeout.TotalSeconds,
                CommandTimeout = (int)Timeout.TotalSeconds,
                // Names the holder to the planner refused (pg_stat_activity); the server keeps 63 bytes.
                ApplicationName = Truncated($"actorckpt planner pid {Environment.ProcessId} on {Environment.MachineName}", 63),
            };
            (_connectionString, _persistenceId, _root, _catalog, _configFile) = (builder.ToString(), persistenceId, root, catalog, configFile);
        }

        public static ServerClaim Take(string connectionString, string persistenceId, string root, string catalog, string? configFile)
        {
            var claim = new ServerClaim(connectionString, persistenceId, root, catalog, configFile);
            claim.Claim();
            return claim;
        }

        /// <summary>
        /// The session is alive (its lock with it), or a new one claims again; then the journal must not hold events
        /// past <paramref name="journaled"/>: another planner claimed it while the session was gone, journaled, and let go.
        /// </summary>
        public override void Ensure(long journaled)
        {
            if (_session is not null)
            {
                try
                {
                    using var alive = new NpgsqlCommand("SELECT 1", _session);
                    alive.ExecuteScalar();
                    return;
                }
                catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
                {
                    // The server restarted, or the session was ended: the lock is gone with it.
                    _session.Dispose();
                    _session = null;
                }
            }
            Claim();
            long end;
            try
            {
                // Akka.Persistence.Sql's default table in the schema the journal writes to (as CatalogServer checks its rights),
                // named as the server quotes it, not looked up along the search path.
                string? table;
                using (var name = new NpgsqlCommand("SELECT CASE WHEN to_regclass(quote_ident(current_schema()) || '.journal') IS NULL THEN NULL " +
                                                    "ELSE quote_ident(current_schema()) || '.journal' END", _session))
                    table = name.ExecuteScalar() as string;
                end = 0;
                if (table is not null)
                {
                    using var last = new NpgsqlCommand($"SELECT coalesce(max(sequence_number), 0) FROM {table} WHERE persistence_id = @id", _session);
                    last.Parameters.AddWithValue("id", _persistenceId);
                    end = Convert.ToInt64(last.ExecuteScalar(), CultureInfo.InvariantCulture);
                }
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
            {
                throw Failed(_root, _catalog, e);
            }
            if (end > journaled)
                throw new ActorCkptException(
                    $"the journal of the catalog ({_catalog}) of checkpoint root '{_root}' went on to event {end}, past this planner's {journaled}, while its claim " +
                    "on the catalog was lost with its session: another planner ran on it meanwhile, of a copy of this root or of the root it was copied from");
        }

        private void Claim()
        {
            var session = new NpgsqlConnection(_connectionString);
            try
            {
                session.Open();
                // Keyed by schema too: catalogs in two schemas of one database are two catalogs.
                using (var schema = new NpgsqlCommand("SELECT current_schema()", session))
                    _key = Key((schema.ExecuteScalar() as string ?? "") + "/" + _persistenceId);
                // A machine lost without a word holds its session until the server gives up on it: about 11 s (5 + 3 × 2), not the
                // kernel's 2 hours, so before a cluster has downed the machine and started the planner elsewhere.
                using (var keepalive = new NpgsqlCommand("SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2; SET tcp_keepalives_count = 3", session))
                    keepalive.ExecuteNonQuery();
                using var claim = new NpgsqlCommand("SELECT pg_try_advisory_lock(@key)", session);
                claim.Parameters.AddWithValue("key", _key);
                if (claim.ExecuteScalar() is not true) throw Held(_root, _catalog, _configFile, Holder(session));
                _session = session;
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException or System.Net.Sockets.SocketException)
            {
                session.Dispose();
                throw Failed(_root, _catalog, e);
            }
            catch
            {
                session.Dispose();
                throw;
            }
        }

        /// <summary>The session holding the lock, as far as the server shows it to this role ("'actorckpt planner pid 7 on h', from 10.0.0.2, since …").</summary>
        private string Holder(NpgsqlConnection session)
        {
            // A bigint advisory key shows in pg_locks as its high half (classid) and low half (objid), objsubid 1.
            using var holder = new NpgsqlCommand(
                "SELECT a.application_name, host(a.client_addr), a.backend_start FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid " +
                "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.classid::bigint = @high AND l.objid::bigint = @low " +
                "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) LIMIT 1", session);
            holder.Parameters.AddWithValue("high", (long)((ulong)_key >> 32));
            holder.Parameters.AddWithValue("low", _key & 0xFFFFFFFFL);
            using var row = holder.ExecuteReader();
            if (!row.Read() || row.IsDBNull(0) || row.GetString(0).Length == 0) return "a session of the catalog's server that this role cannot see";
            var from = row.IsDBNull(1) ? "" : $", from {row.GetString(1)}";
            var since = row.IsDBNull(2) ? "" : string.Create(CultureInfo.InvariantCulture, $", since {row.GetDateTime(2).ToUniversalTime():yyyy-MM-dd HH:mm:ss}Z");
            return $"'{row.GetString(0)}'{from}{since}";
        }

        public override void Dispose()
        {
            if (_session is null) return;
            try
            {
                // Let go at once: the next planner (a singleton moved to another node) need not wait for the session's end.
                using var release = new NpgsqlCommand("SELECT pg_advisory_unlock(@key)", _session);
                release.Parameters.AddWithValue("key", _key);
                release.ExecuteScalar();
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
            {
                // The session is gone, and the lock with it.
            }
            _session.Dispose();
            _session = null;
        }

        private static long Key(string name) => (long)XxHash64.HashToUInt64(Encoding.UTF8.GetBytes("actorckpt-catalog-claim:" + name));

        private static string Truncated(string text, int bytes)
        {
            while (Encoding.UTF8.GetByteCount(text) > bytes) text = text[..^1];
            return text;
        }
    }
}
