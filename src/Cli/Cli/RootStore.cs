using Akka.Configuration;
using Microsoft.Data.Sqlite;

namespace ActorCkpt.Cli;

/// <summary>
/// The storage and catalog file of a root the tool was given: a directory, or an object store by
/// URI (<c>az://</c>, <c>s3://</c>) reached as <c>actorckpt.object-store</c> in <c>--config</c> and
/// the environment say.
/// </summary>
internal static class RootStore
{
    /// <summary>The store of <paramref name="root"/> under the node configuration <paramref name="node"/>.</summary>
    public static IBlobStore Open(string root, Config node) => BlobStores.Open(root, ObjectStoreConfig.Of(node));

    /// <summary>The checkpoints of <paramref name="root"/> for a command that reads (a missing directory is an error, never made).</summary>
    public static CheckpointStore OpenCheckpoints(string root, string? hocon) =>
        CheckpointDirectory.Open(root, ObjectStoreConfig.Of(NodeConfig.Checked(hocon)));

    /// <summary>The catalog's SQLite file when the catalog is one (under the root, or an object-store root's local state directory); null for a server's.</summary>
    public static string? CatalogFile(string root, Config node)
    {
        var (provider, connection) = ActorCkptConfig.CatalogConnection(node, root);
        return provider == "SQLite.MS" ? Path.GetFullPath(new SqliteConnectionStringBuilder(connection).DataSource) : null;
    }

    /// <summary>True when a planner has made <paramref name="root"/>: its id file is there. A missing directory is an error.</summary>
    public static bool HasRootId(string root, Config node)
    {
        if (BlobStores.IsDirectory(root))
        {
            // A directory or FIFO put in its place is no root without a catalog: that would turn off every reader's catalog check.
            var id = Path.Combine(root, CheckpointLayout.RootIdFile);
            return RegularFile.Kind(id) switch
            {
                FileKind.Missing => false,
                FileKind.Regular => true,
                var kind => throw new NotARegularFileException(id, kind),
            };
        }
        return Open(root, node).Exists(CheckpointLayout.RootIdFile);
    }
}
