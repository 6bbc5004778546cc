namespace ActorCkpt.Cli;

/// <summary>
/// <c>actorckpt ls ROOT [--json]</c>: the catalog, every step with its status, tiers, size and time (see <see cref="CatalogLine"/>). Reads
/// only. A committed step whose metadata no longer has the checksum the catalog recorded, or fails
/// the cross-checks against its data files' headers (<see cref="StepConsistency"/>), is shown as
/// "committed, damaged: why" (in JSON, "damage" holds why; null for a whole step). An in-flight step whose
/// metadata is on disk (a process killed between the commit's rename and its journal) says so (JSON "unsettled").
/// </summary>
internal static class ListCommand
{
    /// <summary>Prints the catalog of <paramref name="root"/>; returns the exit code.</summary>
    public static async Task<int> RunAsync(string root, string? hocon, CliOutput output)
    {
        var node = NodeConfig.Checked(hocon);
        RootChecks.RequireCatalog(root, node);
        var store = new CheckpointStore(RootStore.Open(root, node));
        IReadOnlyList<CatalogEntry> entries;
        Dictionary<long, string?> damage;
        for (var attempt = 1; ; attempt++)
        {
            entries = NothingJournaled(root, node) ? Array.Empty<CatalogEntry>() : await CatalogChecksums.ReadEntriesAsync(root, node);
            // Only what is on disk can be checked against the disk: a memory-only step has no files there.
            damage = entries.Where(e => e.OnDisk).DistinctBy(e => e.Step)
                .ToDictionary(e => e.Step, e => StepConsistency.Damage(store, e.Step, e.MetadataChecksum));
            // A running job's retention may have deleted a step while its files were checked: that is no damage, and the catalog read again says so.
            if (attempt == 3 || damage.All(d => d.Value is null)) break;
            var now = CatalogChecksums.From(await CatalogChecksums.ReadEntriesAsync(root, node));
            if (!damage.Any(d => d.Value is not null && now.Deleted(d.Key) is not null)) break;
        }
        string? Damage(CatalogEntry e) => e.OnDisk ? damage[e.Step] : null;
        // What the disk holds committed, listed once: the rename of its metadata is a save's commit.
        var committedOnDisk = store.CommittedSteps();
        var onDisk = committedOnDisk.ToHashSet();
        // A process killed before the planner journaled the commit leaves the step in-flight in the catalog,
        // committed on disk: said, as inspect says it, not left for ls to hide.
        string? Unsettled(CatalogEntry e) => e is { Status: CheckpointStatus.InFlight, Tier: StorageTier.Disk } && onDisk.Contains(e.Step) ? UnsettledNote : null;
        foreach (var e in entries) output.Line(CatalogLine.Of(e, Damage(e)) + (Unsettled(e) is { } note ? $" ({note})" : ""));
        if (entries.Count == 0) output.Line($"the catalog of {root} is empty");
        // Steps committed on disk that the catalog has no record of (another root's catalog put in, records lost): said, as verify and inspect do.
        var recorded = entries.Select(e => e.Step).ToHashSet();
        var unrecorded = committedOnDisk.Where(s => !recorded.Contains(s)).ToList();
        // One whose metadata cannot be read is no step a planner takes in: it leaves it alone, and loads know nothing of it.
        var unreadable = unrecorded.Select(s => (Step: s, Why: UnreadableMetadata(store, s))).Where(u => u.Why is not null).ToDictionary(u => u.Step, u => u.Why!);
        foreach (var s in unrecorded)
            output.Line($"step {s}: " + (unreadable.TryGetValue(s, out var why) ? string.Format(UnreadableNote, why) : UnrecordedNote));
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
                ["damage"] = Damage(e),
                ["unsettled"] = Unsettled(e),
                ["tiers"] = CatalogLine.Tiers(e),
                ["persisted"] = e.Persisted,
                ["memory"] = CatalogLine.Memory(e),
                ["uploaded"] = e.OnObject ? e.Uploaded : null,
            }).ToList(),
            ["unrecorded"] = unrecorded,
            ["unrecorded_damage"] = unreadable.ToDictionary(u => u.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), u => u.Value),
        });
        return 0;
    }

    /// <summary>
    /// True when a planner made the root but journaled nothing (it was killed first): no catalog file
    /// and no step directory (a save's start is journaled before its directory exists). Then the
    /// catalog is empty, and opening it would create it.
    /// </summary>
    private static bool NothingJournaled(string root, Akka.Configuration.Config node) =>
        RootStore.CatalogFile(root, node) is { } file
        && !Path.Exists(file)
        && new CheckpointStore(RootStore.Open(root, node)).ScanSteps(_ => false) is { Steps.Count: 0, Unreadable.Count: 0 };

    /// <summary>What ls says of an in-flight step whose metadata is on disk.</summary>
    public const string UnsettledNote = "but committed on disk, its metadata renamed in place: a planner's next start journals it committed";

    /// <summary>What ls says of a step committed on disk that the catalog has no record of.</summary>
    public const string UnrecordedNote = "committed on disk, but the catalog has no record of it: a planner's next start takes it in (actorckpt gc does now), or the catalog is another root's (actorckpt catalog rebuild ROOT)";

    /// <summary>What ls says of such a step whose metadata cannot be read ({0}: why): no planner takes it in.</summary>
    public const string UnreadableNote = "committed on disk, but the catalog has no record of it and its metadata cannot be read ({0}): no planner takes it in, and loads know nothing of it; actorckpt catalog rebuild ROOT moves it into quarantine";

    /// <summary>Why <paramref name="step"/>'s metadata cannot be read, as a planner's scan finds it (which then leaves the step alone); null when it can.</summary>
    private static string? UnreadableMetadata(CheckpointStore store, long step)
    {
        try
        {
            store.ReadMetadata(step);
            return null;
        }
        catch (Exception e) when (e is CheckpointFormatException or IOException or UnauthorizedAccessException && !StorageErrors.IsUnanswered(e))
        {
            return e.Message;
        }
    }

    /// <summary>The status as the catalog's JSON spells it.</summary>
    public static string Status(CheckpointStatus status) => System.Text.Json.JsonSerializer.Serialize(status).Trim('"');
}
