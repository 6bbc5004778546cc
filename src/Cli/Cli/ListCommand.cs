using Akka.Actor;

namespace ActorCkpt.Cli;

/// <summary><c>actorckpt ls ROOT [--json]</c>: the catalog, every step with its status, size and time. Reads only.</summary>
internal static class ListCommand
{
    /// <summary>Prints the catalog of <paramref name="root"/>; returns the exit code.</summary>
    public static async Task<int> RunAsync(string root, string? hocon, CliOutput output)
    {
        RootChecks.RequireCatalog(root);
        var node = NodeConfig.Build(hocon);
        // ls reads: a catalog file that is not there is reported, never created by opening it.
        RootChecks.CheckCatalogFile(root, node, required: true);
        var config = ActorCkptConfig.WithCatalog(node, root);
        var system = ActorSystem.Create("actorckpt-ls", config);
        IReadOnlyList<CatalogEntry> entries;
        try
        {
            var reader = system.ActorOf(CatalogReaderActor.Props(CheckpointNode.CatalogId(new CheckpointStore(new LocalBlobStore(root)))));
            entries = (await reader.Ask<CatalogRead>(new ReadCatalog(), TimeSpan.FromMinutes(1))).Entries;
        }
        finally
        {
            await system.Terminate();
        }
        foreach (var e in entries)
        {
            var when = (e.EndedAt ?? e.StartedAt)?.ToString("u") ?? "-";
            var size = e.Status is CheckpointStatus.Committed or CheckpointStatus.Deleted ? $"{e.Bytes} bytes in {e.Files} files" : "-";
            output.Line($"step {e.Step}: {Status(e.Status)}, {size}, {when}{(e.Reason is null ? "" : " (" + e.Reason + ")")}");
        }
        if (entries.Count == 0) output.Line($"the catalog of {root} is empty");
        output.Report(new Dictionary<string, object?>
        {
            ["root"] = root,
            ["checkpoints"] = entries.Select(e => new Dictionary<string, object?>
            {
                ["step"] = e.Step,
                ["status"] = Status(e.Status),
                ["bytes"] = e.Bytes,
                ["files"] = e.Files,
                ["world_size"] = e.WorldSize,
                ["started_at"] = e.StartedAt,
                ["ended_at"] = e.EndedAt,
                ["attempts"] = e.Attempts,
                ["reason"] = e.Reason,
            }).ToList(),
        });
        return 0;
    }

    /// <summary>The status as the catalog's JSON spells it.</summary>
    public static string Status(CheckpointStatus status) => System.Text.Json.JsonSerializer.Serialize(status).Trim('"');
}
