using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace ActorCkpt;

/// <summary>
/// Checks the <c>actorckpt</c> section of a configuration before anything reads it: every key must
/// be one of hocon/reference.conf (an unknown one is named with the nearest valid key, so a
/// misspelling is never silently ignored) and every value must have its key's form (an integer, a
/// duration, ...). Pure: no actor system, no I/O. Ranges are <see cref="ActorCkptSettings.Validated"/>'s job.
/// </summary>
internal static class SettingsValidator
{
    private const string Section = "actorckpt";

    /// <summary>The form of every key of hocon/reference.conf whose value is not free text.</summary>
    public static IReadOnlyDictionary<string, SettingForm> Forms { get; } = new Dictionary<string, SettingForm>(StringComparer.Ordinal)
    {
        ["actorckpt.writer.pool-size"] = SettingForm.Int,
        ["actorckpt.writer.max-retries"] = SettingForm.Int,
        ["actorckpt.writer.backoff-min"] = SettingForm.Duration,
        ["actorckpt.writer.backoff-max"] = SettingForm.Duration,
        ["actorckpt.writer.checksum-block-size"] = SettingForm.Size,
        ["actorckpt.io.copy-writes"] = SettingForm.OneOf("auto", "on", "off"),
        ["actorckpt.planner.plan-timeout"] = SettingForm.Duration,
        ["actorckpt.planner.write-timeout"] = SettingForm.Duration,
        ["actorckpt.planner.start-attempts"] = SettingForm.Int,
        ["actorckpt.planner.start-backoff"] = SettingForm.Duration,
        ["actorckpt.planner.start-again-after"] = SettingForm.Duration,
        ["actorckpt.planner.dedup"] = SettingForm.OneOf("balanced", "lowest-rank"),
        ["actorckpt.planner.files-per-rank"] = SettingForm.Int,
        ["actorckpt.planner.placement"] = SettingForm.OneOf("local", "spread"),
        ["actorckpt.shard.max-item-bytes"] = SettingForm.Size,
        ["actorckpt.shard.plan-resend-interval"] = SettingForm.Duration,
        ["actorckpt.transfer.chunk-size"] = SettingForm.Size,
        ["actorckpt.transfer.path"] = SettingForm.OneOf("channel", "stream-refs"),
        ["actorckpt.transfer.channel.port"] = SettingForm.Int,
        ["actorckpt.transfer.channel.frame-size"] = SettingForm.Size,
        ["actorckpt.transfer.channel.window"] = SettingForm.Size,
        ["actorckpt.transfer.channel.connections-per-peer"] = SettingForm.Int,
        ["actorckpt.transfer.channel.connect-timeout"] = SettingForm.Duration,
        ["actorckpt.transfer.channel.idle-timeout"] = SettingForm.Duration,
        ["actorckpt.transfer.channel.token-ttl"] = SettingForm.Duration,
        ["actorckpt.transfer.channel.tls.enabled"] = SettingForm.Bool,
        ["actorckpt.load.parallelism"] = SettingForm.Int,
        ["actorckpt.load.retries"] = SettingForm.Int,
        ["actorckpt.load.shared-read-budget"] = SettingForm.Size,
        ["actorckpt.load.source"] = SettingForm.OneOf("shared", "reader"),
        ["actorckpt.load.strict"] = SettingForm.OneOf(Strictness.Names.ToArray()),
        ["actorckpt.async.max-in-flight"] = SettingForm.Int,
        ["actorckpt.async.when-busy"] = SettingForm.OneOf("wait", "skip"),
        ["actorckpt.async.overlap-writes"] = SettingForm.Bool,
        ["actorckpt.async.finish-on-dispose"] = SettingForm.Duration,
        ["actorckpt.staging.budget"] = SettingForm.Size,
        ["actorckpt.staging.skip-replicas-written-elsewhere"] = SettingForm.Bool,
        ["actorckpt.catalog.provider"] = SettingForm.OneOf("sqlite", "postgres"),
        ["actorckpt.catalog.snapshot-every"] = SettingForm.Int,
        ["actorckpt.retention.keep-last"] = SettingForm.Int,
        ["actorckpt.retention.keep-every"] = SettingForm.Long,
        ["actorckpt.retention.grace-after-start"] = SettingForm.Duration,
        ["actorckpt.tiers.memory.enabled"] = SettingForm.Bool,
        ["actorckpt.tiers.memory.replicas"] = SettingForm.Int,
        ["actorckpt.tiers.memory.budget"] = SettingForm.SizeOrPercent,
        ["actorckpt.tiers.memory.keep-last"] = SettingForm.Int,
        ["actorckpt.tiers.memory.keep-persisted"] = SettingForm.Bool,
        ["actorckpt.tiers.memory.ack-timeout"] = SettingForm.Duration,
        ["actorckpt.tiers.memory.lost-after"] = SettingForm.Duration,
        ["actorckpt.tiers.memory.recycle-for"] = SettingForm.Duration,
        ["actorckpt.tiers.memory.re-replicate"] = SettingForm.Bool,
        ["actorckpt.tiers.memory.verify-on-start"] = SettingForm.OneOf("headers", "full"),
        ["actorckpt.tiers.disk.every"] = SettingForm.Long,
        ["actorckpt.tiers.object.every"] = SettingForm.Long,
        ["actorckpt.tiers.object.keep-last"] = SettingForm.Int,
        ["actorckpt.tiers.object.upload-timeout"] = SettingForm.Duration,
        ["actorckpt.object-store.create-missing"] = SettingForm.Bool,
        ["actorckpt.tiers.object.keep-every"] = SettingForm.Long,
        ["actorckpt.object-store.azure-block-checksum"] = SettingForm.OneOf("crc64", "md5"),
        ["actorckpt.object-store.part-size"] = SettingForm.Size,
        ["actorckpt.object-store.parallelism"] = SettingForm.Int,
        ["actorckpt.object-store.retries"] = SettingForm.Int,
        ["actorckpt.object-store.retry-backoff"] = SettingForm.Duration,
        ["actorckpt.object-store.request-timeout"] = SettingForm.Duration,
        ["actorckpt.tiers.disk.persist-timeout"] = SettingForm.Duration,
        ["actorckpt.fault-injection.kill-at.point"] = SettingForm.OneOf(KillPoint.Points.Prepend("").ToArray()),
        ["actorckpt.fault-injection.kill-at.step"] = SettingForm.Long,
    };

    private static readonly Lazy<Known> LazyKnown = new(() => Known.Of(ActorCkptConfig.Defaults));

    /// <summary>
    /// Throws <see cref="ConfigurationException"/> when the <c>actorckpt</c> section of
    /// <paramref name="config"/> (its fallbacks included) has a key hocon/reference.conf does not
    /// know or a value not of its key's form; the message has one line per problem, each naming the
    /// key and the nearest valid key or the form expected.
    /// </summary>
    public static void Validate(Config config)
    {
        var problems = Problems(config);
        if (problems.Count > 0) throw new ConfigurationException(string.Join(Environment.NewLine, problems));
    }

    /// <summary>The problems <see cref="Validate"/> reports, one line each, in key order.</summary>
    public static IReadOnlyList<string> Problems(Config config)
    {
        var known = LazyKnown.Value;
        var problems = new List<string>();
        var free = FreeSections(config);
        foreach (var (path, value) in Leaves(config).OrderBy(l => l.Path, StringComparer.Ordinal))
        {
            if (free.Any(f => path.StartsWith(f + ".", StringComparison.Ordinal)) || Shadowed(config, path)) continue;
            if (known.Leaves.Contains(path))
            {
                var expected = Forms.TryGetValue(path, out var form) ? form.Expected : SettingForm.Text.Expected;
                // No setting is a list; read as text, a list would be taken as empty.
                if (IsList(config, path)) problems.Add($"{path} = {value}: expected {expected}, not a list");
                else if (form is not null && !IsSection(config, path) && !form.Fits(config, path))
                    problems.Add($"{path} = {Quoted(value)}: expected {form.ExpectedFor(config, path)}");
            }
            else if (known.Sections.Contains(path))
                problems.Add($"{path} = {Quoted(value)}: expected a section of settings ({path} {{ ... }}), not a value");
            else if (!known.Leaves.Any(l => path.StartsWith(l + ".", StringComparison.Ordinal)))
                problems.Add($"{path} is not a setting; did you mean {Nearest(path, known.Leaves)}?");
        }
        // A quoted key holding dots ("writer.pool-size" = 8) is one key of that name, which sets no setting.
        foreach (var quoted in QuotedDottedKeys(config).Distinct().Order(StringComparer.Ordinal))
            problems.Add($"{quoted} is one quoted key with dots in its name, which sets nothing; write the key without quotes");
        // A key set to a section (writer.pool-size { ... }) shows as leaves below a known leaf.
        foreach (var leaf in known.Leaves.Where(l => IsSection(config, l)).Where(l => !free.Any(f => l.StartsWith(f + ".", StringComparison.Ordinal))))
            problems.Add($"{leaf} is set to a section of settings: expected {(Forms.TryGetValue(leaf, out var form) ? form.Expected : "a value")}");
        return problems;
    }

    /// <summary>The valid key of <paramref name="candidates"/> nearest <paramref name="path"/> by edit distance (ties: the first in order).</summary>
    public static string Nearest(string path, IEnumerable<string> candidates) =>
        candidates.OrderBy(c => EditDistance(path, c)).ThenBy(c => c, StringComparer.Ordinal).First();

    /// <summary>Levenshtein distance: insertions, deletions and substitutions of one character each cost 1.</summary>
    public static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) previous[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
                current[j] = Math.Min(Math.Min(current[j - 1], previous[j]) + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }

    /// <summary>
    /// Sections whose keys are Akka's, not ActorCkpt's: the writers' dispatcher configuration
    /// (<c>actorckpt.writer-dispatcher</c>, or another section under <c>actorckpt</c> that
    /// <c>writer.dispatcher</c> or <c>planner.dispatcher</c> names).
    /// </summary>
    private static IReadOnlyList<string> FreeSections(Config config)
    {
        var free = new List<string> { "actorckpt.writer-dispatcher" };
        foreach (var key in new[] { "actorckpt.writer.dispatcher", "actorckpt.planner.dispatcher" })
        {
            var named = Safe(() => config.GetString(key));
            if (named is not null && named.StartsWith(Section + ".", StringComparison.Ordinal)) free.Add(named);
        }
        return free;
    }

    /// <summary>True when a section above <paramref name="path"/> is set to a value in a layer above the one it comes from (reported on its own).</summary>
    private static bool Shadowed(Config config, string path)
    {
        for (var dot = path.LastIndexOf('.'); dot > Section.Length; dot = path.LastIndexOf('.', dot - 1))
            if (!IsSection(config, path[..dot])) return true;
        return false;
    }

    private static bool IsSection(Config config, string path) => Safe(() => config.GetValue(path)?.IsObject() == true);

    private static bool IsList(Config config, string path) => Safe(() => config.GetValue(path)?.IsArray() == true);

    /// <summary>Keys under <c>actorckpt</c> whose name holds a dot (only a quoted key can), and top-level quoted keys that start with "actorckpt.", as written (dotted names in quotes).</summary>
    private static IEnumerable<string> QuotedDottedKeys(Config config)
    {
        for (var layer = config; layer is not null; layer = layer.Fallback)
        {
            if (layer.Root is not { } root || !root.IsObject()) continue;
            foreach (var (key, value) in root.GetObject().Items)
            {
                if (key.StartsWith(Section + ".", StringComparison.Ordinal)) yield return $"\"{key}\"";
                else if (key == Section)
                    foreach (var dotted in Dotted(Section, value))
                        yield return dotted;
            }
        }

        static IEnumerable<string> Dotted(string path, HoconValue value)
        {
            if (!value.IsObject()) yield break;
            foreach (var (key, child) in value.GetObject().Items)
            {
                if (key.Contains('.')) yield return $"{path}.\"{key}\"";
                else
                    foreach (var d in Dotted(path + "." + key, child))
                        yield return d;
            }
        }
    }

    private static T? Safe<T>(Func<T> get)
    {
        try
        {
            return get();
        }
        catch (Exception e) when (e is ConfigurationException or FormatException or InvalidOperationException or ArgumentException)
        {
            return default;
        }
    }

    private static string Quoted(string value) => "'" + value + "'";

    /// <summary>Every leaf under <c>actorckpt</c> in <paramref name="config"/> and its fallbacks, with its value as text.</summary>
    private static IEnumerable<(string Path, string Value)> Leaves(Config config)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var layer = config; layer is not null; layer = layer.Fallback)
        {
            if (layer.Root is not { } root || !root.IsObject()) continue;
            if (root.GetObject().Items.TryGetValue(Section, out var section))
                foreach (var leaf in Flatten(Section, section))
                    if (seen.Add(leaf.Path)) yield return leaf;
        }
    }

    private static IEnumerable<(string Path, string Value)> Flatten(string path, HoconValue value, int depth = 0)
    {
        // A value Akka left unresolved may hold itself: read as an object it never ends.
        if (depth > HoconHazards.MaxDepth) throw new ConfigurationException($"{string.Join('.', path.Split('.').Take(3))}: a value nested deeper than {HoconHazards.MaxDepth} levels, or holding itself");
        if (!value.IsObject())
        {
            yield return (path, value.IsString() ? value.GetString() ?? "" : value.ToString());
            yield break;
        }
        // A quoted key with dots is reported on its own (QuotedDottedKeys): its path would pass for a real key's.
        foreach (var (key, child) in value.GetObject().Items.Where(i => !i.Key.Contains('.')))
        foreach (var leaf in Flatten(path + "." + key, child, depth + 1))
            yield return leaf;
    }

    /// <summary>The keys (leaves) and sections (objects) of the defaults' <c>actorckpt</c> section.</summary>
    private sealed record Known(HashSet<string> Leaves, HashSet<string> Sections)
    {
        public static Known Of(Config defaults)
        {
            var leaves = new HashSet<string>(StringComparer.Ordinal);
            var sections = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (path, _) in SettingsValidator.Leaves(defaults))
            {
                leaves.Add(path);
                for (var dot = path.LastIndexOf('.'); dot > Section.Length - 1; dot = path.LastIndexOf('.', dot - 1))
                    sections.Add(path[..dot]);
            }
            sections.Remove(Section);
            return new Known(leaves, sections);
        }
    }
}
