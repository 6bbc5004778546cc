namespace ActorCkpt.Cli;

/// <summary>How <c>actorckpt ls</c> shows one catalog entry: a line, and the fields of its JSON report.</summary>
internal static class CatalogLine
{
    /// <summary>
    /// "step S: status[, damaged: why], size, time (reason)"; for a memory step also its tiers after the
    /// status, and while its copies are held, its holders, lost copies and whether the catalog still
    /// counts it loadable (the catalog's view: whether the holders are up now is the planner's).
    /// </summary>
    public static string Of(CatalogEntry e, string? damage)
    {
        var when = (e.EndedAt ?? e.StartedAt)?.ToString("u") ?? "-";
        var size = e.Status is CheckpointStatus.Committed or CheckpointStatus.Deleted ? $"{e.Bytes} bytes in {e.Files} files" : "-";
        var status = damage is { } why ? $"{ListCommand.Status(e.Status)}, damaged: {why}" : ListCommand.Status(e.Status);
        // Disk-only catalogs read as they always did; the tiers show once memory or the object tier is involved.
        var tiers = (e.Tier != StorageTier.Disk || e.OnObject) && Tiers(e) is { Count: > 0 } t ? $" [{string.Join(", ", t)}]" : "";
        var uploaded = e.OnObject ? $"; object copy in {e.Uploaded}" : "";
        var memory = e.InMemory ? "; " + Holders(e.Memory!) : "";
        return $"step {e.Step}: {status}{tiers}, {size}, {when}{(e.Reason is null ? "" : " (" + e.Reason + ")")}{memory}{uploaded}";
    }

    /// <summary>The tiers a committed step is on ("memory", "disk", "object"); for a save under way or aborted, the tier its attempt wrote to when not disk; none for a deleted step.</summary>
    public static IReadOnlyList<string> Tiers(CatalogEntry e)
    {
        // A save under way or aborted names the tier it was for; a deleted step is on none.
        if (e.Status != CheckpointStatus.Committed) return e.Tier == StorageTier.Disk || e.Status == CheckpointStatus.Deleted ? Array.Empty<string>() : new[] { Name(e.Tier) };
        var tiers = new List<string>();
        if (e.InMemory) tiers.Add(Name(StorageTier.Memory));
        if (e.OnDisk) tiers.Add(Name(StorageTier.Disk));
        if (e.OnObject) tiers.Add(Name(StorageTier.Object));
        return tiers;
    }

    /// <summary>The JSON report's view of a step's memory copies; null for a step with none.</summary>
    public static Dictionary<string, object?>? Memory(CatalogEntry e) => e.Memory is not { } m ? null : new Dictionary<string, object?>
    {
        ["hosts"] = m.Hosts,
        ["shards"] = m.Shards.Select(s => new Dictionary<string, object?>
        {
            ["file"] = s.File, ["rank"] = s.Rank, ["holders"] = s.Holders.Select(h => m.Hosts[h]).ToArray(), ["lost"] = s.Lost.Select(h => m.Hosts[h]).ToArray(),
        }).ToArray(),
        ["evicted"] = m.Evicted,
        ["loadable"] = e.Status == CheckpointStatus.Committed && m.Loadable,
    };

    private static string Holders(MemoryCopies m)
    {
        var perShard = m.Shards.Select(s => s.Holders.Count).Distinct().Order().ToArray();
        var lost = m.Shards.SelectMany(s => s.Lost).GroupBy(h => h).OrderBy(g => g.Key).Select(g => $"{m.Hosts[g.Key]} ({g.Count()} of its copies)").ToArray();
        var unheld = m.Shards.Where(s => !s.Held).Select(s => s.File).ToArray();
        return $"holders: {string.Join(", ", m.Hosts)} ({string.Join(" or ", perShard)} per file)"
               + (lost.Length == 0 ? "" : $"; lost: {string.Join(", ", lost)}")
               + (unheld.Length == 0 ? "; loadable from memory" : $"; not loadable from memory: {Problems.Line(unheld.Select(f => $"'{f}' has no holder left").ToArray())}");
    }

    private static string Name(StorageTier tier) => System.Text.Json.JsonSerializer.Serialize(tier).Trim('"');
}
