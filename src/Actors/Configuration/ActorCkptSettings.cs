using Akka.Actor;
using Akka.Configuration;

namespace ActorCkpt;

/// <summary>
/// Settings of the <c>actorckpt</c> HOCON section (defaults and meaning of each key in
/// hocon/reference.conf). Validated on creation; copies are made with <c>with</c>.
/// </summary>
internal sealed record ActorCkptSettings
{
    /// <summary>Writer actors per node.</summary>
    public int WriterPoolSize { get; init; } = 4;

    /// <summary>Retries of a failed file write before the save fails.</summary>
    public int MaxRetries { get; init; } = 3;

    /// <summary>Backoff before the first retry.</summary>
    public TimeSpan BackoffMin { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Longest backoff between retries.</summary>
    public TimeSpan BackoffMax { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Bytes per checksum block.</summary>
    public int ChecksumBlockSize { get; init; } = 1 << 20;

    /// <summary>Dispatcher of the writer actors.</summary>
    public string WriterDispatcher { get; init; } = "actorckpt.writer-dispatcher";

    /// <summary>Dispatcher of the planner (it does file I/O when it prepares and commits a step).</summary>
    public string PlannerDispatcher { get; init; } = "akka.actor.default-blocking-io-dispatcher";

    /// <summary>How long the planner waits for all local plans.</summary>
    public TimeSpan PlanTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long the planner waits for all write reports.</summary>
    public TimeSpan WriteTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Tries in a row at starting the planner (taking the root's lock, recovering the catalog) before it gives up with one error.</summary>
    public int PlannerStartAttempts { get; init; } = 5;

    /// <summary>Backoff before the second try at starting the planner; it doubles at each further try.</summary>
    public TimeSpan PlannerStartBackoff { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// After a planner gave up (<see cref="PlannerStartAttempts"/> failed tries: its journal's server down, the
    /// root held), how long until it tries once more, and again after each failed try until it starts; zero gives up for good.
    /// </summary>
    public TimeSpan PlannerStartAgainAfter { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Global save planning knobs.</summary>
    public SavePlanSettings Planning { get; init; } = SavePlanSettings.Default;

    /// <summary>Largest item a chunk is staged and written as; larger chunks are split along dim 0.</summary>
    public long MaxItemBytes { get; init; } = 1L << 30;

    /// <summary>How often a shard re-sends a plan that no planner has acknowledged yet.</summary>
    public TimeSpan PlanResendInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Bytes per chunk of a file streamed to a writer on another node (the stream-refs path).</summary>
    public int TransferChunkSize { get; init; } = 64 << 10;

    /// <summary>True when tensor bytes between nodes go over the bulk channel, false over StreamRefs (<c>transfer.path</c>).</summary>
    public bool TransferOverChannel { get; init; } = true;

    /// <summary>The bulk channel (<c>transfer.channel</c>); an empty bind host means the host of the node's remote address.</summary>
    public BulkChannelSettings Channel { get; init; } = BulkChannelSettings.Default with { BindHost = "" };

    /// <summary>How long a token issued for a transfer stays valid when the transfer does not begin.</summary>
    public TimeSpan TransferTokenTtl { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Where a load reads data files: false for the shared directory, true through the readers on the nodes that wrote them.</summary>
    public bool LoadThroughReaders { get; init; }

    /// <summary>What loads do about mismatched keys unless the load says otherwise.</summary>
    public StrictHandling LoadStrict { get; init; } = StrictHandling.AssumeOkUnexpected;

    /// <summary>Reads in parallel per rank on load.</summary>
    public int LoadParallelism { get; init; } = 4;

    /// <summary>Times a byte range read through another node's reader is asked for again when it fails on the bulk channel.</summary>
    public int LoadRetries { get; init; } = 3;

    /// <summary>
    /// Bytes of data-file ranges the ranks of one node may hold for each other at once when they load
    /// the same step (read once, copied to each rank: see <see cref="SharedReads"/>); 0 shares nothing.
    /// </summary>
    public long SharedReadBudget { get; init; } = 4L << 30;

    /// <summary>Saves of one rank that may be in flight at once.</summary>
    public int MaxSavesInFlight { get; init; } = 1;

    /// <summary>True: a save arriving while <see cref="MaxSavesInFlight"/> are in flight is skipped; false: it waits.</summary>
    public bool SkipWhenBusy { get; init; }

    /// <summary>True: writers start on staged items while the rest of the state is still being copied; false: the copy ends first.</summary>
    public bool OverlapWrites { get; init; }

    /// <summary>How long disposing a checkpointer that runs its own actor system waits for its saves in flight to end; zero stops at once.</summary>
    public TimeSpan FinishOnDispose { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Whether file writes copy through a pooled buffer (<c>io.copy-writes</c>; see <see cref="KernelAccess"/>).</summary>
    public CopyWrites CopyWrites { get; init; } = CopyWrites.Auto;

    /// <summary>Bytes of host memory for staging buffers per node; 0 for no limit.</summary>
    public long StagingBudget { get; init; }

    /// <summary>
    /// True: after a committed save, a rank's next save of the same plan does not stage the
    /// replicated chunks another rank wrote (see <see cref="ReplicaMemory"/>); false: every rank
    /// stages all it holds every time.
    /// </summary>
    public bool SkipReplicasWrittenElsewhere { get; init; } = true;

    /// <summary>A snapshot of the catalog every this many journal events.</summary>
    public int CatalogSnapshotEvery { get; init; } = 100;

    /// <summary>Which committed checkpoints the planner keeps.</summary>
    public RetentionPolicy Retention { get; init; } = RetentionPolicy.KeepAll;

    /// <summary>How long a planner that just started holds file removals, so loads under way renew their leases first.</summary>
    public TimeSpan RemovalGrace { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The memory tier (<c>tiers.memory</c>); <see cref="MemoryTierSettings.Off"/> unless turned on.</summary>
    public MemoryTierSettings MemoryTier { get; init; } = MemoryTierSettings.Off;

    /// <summary>Which tier each save goes to (<c>tiers.memory.enabled</c>, <c>tiers.disk.every</c>).</summary>
    public TierPolicy Tiers { get; init; } = TierPolicy.DiskOnly;

    /// <summary>How long a background persist of a memory step to disk may take before it is abandoned (<c>tiers.disk.persist-timeout</c>).</summary>
    public TimeSpan PersistTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>The object tier (<c>tiers.object</c>); <see cref="ObjectTierSettings.Off"/> unless a root is set.</summary>
    public ObjectTierSettings ObjectTier { get; init; } = ObjectTierSettings.Off;

    /// <summary>Where the process kills itself, for crash tests; <see cref="KillPoint.None"/> normally.</summary>
    public KillPoint KillAt { get; init; } = KillPoint.None;

    /// <summary>How an object-store root is reached and written (<c>object-store</c>); unused for a directory root.</summary>
    public ObjectStoreOptions ObjectStore { get; init; } = new();

    /// <summary>Reads the settings from <paramref name="system"/>'s configuration.</summary>
    public static ActorCkptSettings Create(ActorSystem system) => Create(system.Settings.Config);

    /// <summary>
    /// Reads the settings from the <c>actorckpt</c> section of <paramref name="config"/> (with the
    /// embedded defaults as fallback). Throws <see cref="ConfigurationException"/> naming the key
    /// and the nearest valid one for an unknown key, the form expected for a value of the wrong
    /// form (see <see cref="SettingsValidator"/>), and the accepted values when a value is out of range.
    /// </summary>
    public static ActorCkptSettings Create(Config config)
    {
        config = config.WithFallback(ActorCkptConfig.Defaults);
        SettingsValidator.Validate(config);
        var c = config.GetConfig("actorckpt");
        var objectTier = new ObjectTierSettings((c.GetString("tiers.object.root") ?? "").Trim(), c.GetLong("tiers.object.every"),
            c.GetTimeSpan("tiers.object.upload-timeout"), c.GetInt("tiers.object.keep-last"), c.GetLong("tiers.object.keep-every"));
        var dedup = c.GetString("planner.dedup") switch
        {
            "balanced" => DedupStrategy.Balanced,
            "lowest-rank" => DedupStrategy.LowestRank,
            var other => throw new ConfigurationException($"actorckpt.planner.dedup = '{other}': accepted values are balanced, lowest-rank"),
        };
        var loadThroughReaders = c.GetString("load.source") switch
        {
            "shared" => false,
            "reader" => true,
            var other => throw new ConfigurationException($"actorckpt.load.source = '{other}': accepted values are shared, reader"),
        };
        var placement = c.GetString("planner.placement") switch
        {
            "local" => Placement.Local,
            "spread" => Placement.Spread,
            var other => throw new ConfigurationException($"actorckpt.planner.placement = '{other}': accepted values are local, spread"),
        };
        return new ActorCkptSettings
        {
            WriterPoolSize = c.GetInt("writer.pool-size"),
            MaxRetries = c.GetInt("writer.max-retries"),
            BackoffMin = c.GetTimeSpan("writer.backoff-min"),
            BackoffMax = c.GetTimeSpan("writer.backoff-max"),
            ChecksumBlockSize = IntSize(c, "writer.checksum-block-size", "a positive multiple of 4096 below 2 GiB"),
            WriterDispatcher = c.GetString("writer.dispatcher"),
            PlannerDispatcher = c.GetString("planner.dispatcher"),
            PlanTimeout = c.GetTimeSpan("planner.plan-timeout"),
            WriteTimeout = c.GetTimeSpan("planner.write-timeout"),
            PlannerStartAttempts = c.GetInt("planner.start-attempts"),
            PlannerStartBackoff = c.GetTimeSpan("planner.start-backoff"),
            PlannerStartAgainAfter = c.GetTimeSpan("planner.start-again-after"),
            Planning = new SavePlanSettings(dedup, c.GetInt("planner.files-per-rank"), placement),
            MaxItemBytes = c.GetByteSize("shard.max-item-bytes") ?? 0,
            PlanResendInterval = c.GetTimeSpan("shard.plan-resend-interval"),
            LoadParallelism = c.GetInt("load.parallelism"),
            LoadRetries = c.GetInt("load.retries"),
            SharedReadBudget = c.GetByteSize("load.shared-read-budget") ?? 0,
            LoadThroughReaders = loadThroughReaders,
            LoadStrict = Strictness.Names.Contains(c.GetString("load.strict")) ? Strictness.Parse(c.GetString("load.strict"))
                : throw new ConfigurationException($"actorckpt.load.strict = '{c.GetString("load.strict")}': accepted values are {string.Join(", ", Strictness.Names)}"),
            TransferChunkSize = IntSize(c, "transfer.chunk-size", "between 1 KiB and 100000 bytes"),
            TransferOverChannel = c.GetString("transfer.path") switch
            {
                "channel" => true,
                "stream-refs" => false,
                var other => throw new ConfigurationException($"actorckpt.transfer.path = '{other}': accepted values are channel, stream-refs"),
            },
            Channel = ChannelOf(c.GetConfig("transfer.channel")),
            TransferTokenTtl = c.GetTimeSpan("transfer.channel.token-ttl"),
            CatalogSnapshotEvery = c.GetInt("catalog.snapshot-every"),
            MaxSavesInFlight = c.GetInt("async.max-in-flight"),
            OverlapWrites = c.GetBoolean("async.overlap-writes"),
            FinishOnDispose = c.GetTimeSpan("async.finish-on-dispose"),
            SkipWhenBusy = c.GetString("async.when-busy") switch
            {
                "wait" => false,
                "skip" => true,
                var other => throw new ConfigurationException($"actorckpt.async.when-busy = '{other}': accepted values are wait, skip"),
            },
            CopyWrites = c.GetString("io.copy-writes") switch
            {
                "auto" => CopyWrites.Auto,
                "on" => CopyWrites.On,
                "off" => CopyWrites.Off,
                var other => throw new ConfigurationException($"actorckpt.io.copy-writes = '{other}': accepted values are auto, on, off"),
            },
            StagingBudget = c.GetByteSize("staging.budget") ?? 0,
            SkipReplicasWrittenElsewhere = c.GetBoolean("staging.skip-replicas-written-elsewhere"),
            Retention = new RetentionPolicy(c.GetInt("retention.keep-last"), c.GetLong("retention.keep-every")),
            RemovalGrace = c.GetTimeSpan("retention.grace-after-start"),
            MemoryTier = MemoryTierOf(c.GetConfig("tiers.memory")),
            Tiers = TiersOf(c, objectTier),
            PersistTimeout = c.GetTimeSpan("tiers.disk.persist-timeout"),
            ObjectTier = objectTier,
            KillAt = KillPoint.Parse(c.GetString("fault-injection.kill-at.point"), c.GetLong("fault-injection.kill-at.step")),
            ObjectStore = ObjectStoreConfig.Of(config),
        }.Validated();
    }

    private static MemoryTierSettings MemoryTierOf(Config c)
    {
        var budget = c.GetString("budget") ?? "";
        var (bytes, fraction) = SettingForm.TryPercent(budget, out var f) ? (0L, f) : (c.GetByteSize("budget") ?? 0, 0.0);
        var host = c.GetString("host") ?? "";
        return new MemoryTierSettings(
            c.GetBoolean("enabled"),
            c.GetInt("replicas"),
            bytes,
            fraction,
            c.GetInt("keep-last"),
            c.GetBoolean("keep-persisted"),
            c.GetString("directory") ?? "",
            host.Length > 0 ? host : Environment.MachineName,
            c.GetTimeSpan("ack-timeout"),
            c.GetTimeSpan("lost-after"),
            c.GetBoolean("re-replicate"),
            c.GetString("verify-on-start") == "full")
        {
            RecycleFor = c.GetTimeSpan("recycle-for"),
        };
    }

    private static TierPolicy TiersOf(Config c, ObjectTierSettings objectTier)
    {
        var every = c.GetLong("tiers.disk.every");
        Require(every >= 0, "tiers.disk.every", every, "0 (only saves that ask for the disk) or more");
        // A memory step due for the object tier goes to disk first: uploads copy committed disk steps.
        return new TierPolicy(c.GetBoolean("tiers.memory.enabled"), every, objectTier.Enabled ? Math.Max(objectTier.Every, 0) : 0);
    }

    private static BulkChannelSettings ChannelOf(Config c)
    {
        var tls = c.GetBoolean("tls.enabled")
            ? new BulkChannelTls(Required(c, "tls.certificate"), Required(c, "tls.key"), OrNull(c.GetString("tls.trust")), OrNull(c.GetString("tls.server-name")))
            : null;
        return new BulkChannelSettings(c.GetString("bind-host") ?? "", c.GetInt("port"), OrNull(c.GetString("public-host")),
            IntSize(c, "frame-size", "between 4 KiB and 64 MiB", "transfer.channel."), IntSize(c, "window", "at least frame-size and below 2 GiB", "transfer.channel."),
            c.GetInt("connections-per-peer"), c.GetTimeSpan("connect-timeout"), c.GetTimeSpan("idle-timeout"), tls);

        static string? OrNull(string? s) => string.IsNullOrEmpty(s) ? null : s;
        static string Required(Config c, string key) => OrNull(c.GetString(key))
            ?? throw new ConfigurationException($"actorckpt.transfer.channel.{key} must name a PEM file when actorckpt.transfer.channel.tls.enabled = on");
    }

    /// <summary>Returns this instance when every value is in range; throws <see cref="ConfigurationException"/> naming the key otherwise.</summary>
    public ActorCkptSettings Validated()
    {
        // A writer is a thread of its own (a pinned dispatcher): tens of thousands of them end the process.
        Require(WriterPoolSize is >= 1 and <= MaxWriterPoolSize, "writer.pool-size", WriterPoolSize, $"between 1 and {MaxWriterPoolSize}");
        Require(MaxRetries >= 0, "writer.max-retries", MaxRetries, "0 or more");
        Require(BackoffMin >= TimeSpan.Zero && BackoffMax >= BackoffMin, "writer.backoff-max", BackoffMax, "at least writer.backoff-min");
        RequireTimer(BackoffMax, "writer.backoff-max", "at least writer.backoff-min", zero: true);
        Require(ChecksumBlockSize > 0 && ChecksumBlockSize % 4096 == 0, "writer.checksum-block-size", ChecksumBlockSize, "a positive multiple of 4096 below 2 GiB");
        RequireTimer(PlanTimeout, "planner.plan-timeout");
        RequireTimer(WriteTimeout, "planner.write-timeout");
        Require(PlannerStartAttempts is >= 1 and <= 100, "planner.start-attempts", PlannerStartAttempts, "between 1 and 100");
        Require(PlannerStartBackoff >= TimeSpan.Zero && PlannerStartBackoff <= TimeSpan.FromMinutes(1), "planner.start-backoff", PlannerStartBackoff, "between 0 and 1m");
        Require(PlannerStartAgainAfter >= TimeSpan.Zero && PlannerStartAgainAfter <= TimeSpan.FromHours(1), "planner.start-again-after", PlannerStartAgainAfter, "between 0 (never) and 1h");
        Require(Planning.FilesPerRank >= 0, "planner.files-per-rank", Planning.FilesPerRank, "0 (auto) or more");
        Require(MaxItemBytes >= 8 && MaxItemBytes <= int.MaxValue, "shard.max-item-bytes", MaxItemBytes, "between 8 bytes and 2 GiB");
        Require(LoadParallelism >= 1, "load.parallelism", LoadParallelism, "at least 1");
        Require(LoadRetries >= 0, "load.retries", LoadRetries, "0 or more");
        Require(SharedReadBudget >= 0, "load.shared-read-budget", SharedReadBudget, "0 (no sharing) or more bytes");
        RequireTimer(PlanResendInterval, "shard.plan-resend-interval");
        // Remoting drops any frame over 128,000 bytes; a chunk plus its envelope must stay well under.
        Require(TransferChunkSize >= 1024 && TransferChunkSize <= 100_000, "transfer.chunk-size", TransferChunkSize, "between 1 KiB and 100000 bytes");
        try
        {
            (Channel with { BindHost = string.IsNullOrEmpty(Channel.BindHost) ? "127.0.0.1" : Channel.BindHost }).Validate();
        }
        catch (ArgumentException e)
        {
            throw new ConfigurationException(e.Message);
        }
        RequireTimer(TransferTokenTtl, "transfer.channel.token-ttl");
        Require(MaxSavesInFlight >= 1, "async.max-in-flight", MaxSavesInFlight, "at least 1");
        Require(StagingBudget >= 0, "staging.budget", StagingBudget, "0 (no limit) or more bytes");
        Require(CatalogSnapshotEvery >= 1, "catalog.snapshot-every", CatalogSnapshotEvery, "at least 1");
        Require(Retention.KeepLast >= 0, "retention.keep-last", Retention.KeepLast, "0 (keep all) or more");
        RequireTimer(RemovalGrace, "retention.grace-after-start", "0 or more", zero: true);
        // It is a timer's, and a coordinated-shutdown phase's timeout with 5 s more (which Akka adds to the clock).
        Require(FinishOnDispose >= TimeSpan.Zero && FinishOnDispose <= MaxFinishOnDispose, "async.finish-on-dispose", FinishOnDispose, $"0 or more, at most {AsHocon(MaxFinishOnDispose)}");
        Require(Retention.KeepEvery >= 0, "retention.keep-every", Retention.KeepEvery, "0 (off) or more");
        ValidateMemoryTier(MemoryTier);
        Require(Tiers.MemoryEnabled == MemoryTier.Enabled, "tiers.memory.enabled", MemoryTier.Enabled, "the same in the tier policy and the memory tier's settings");
        RequireTimer(PersistTimeout, "tiers.disk.persist-timeout");
        Require(ObjectTier.Every >= 1, "tiers.object.every", ObjectTier.Every, "at least 1");
        // Past a timer's longest wait every upload failed at its start, and nothing went up.
        RequireTimer(ObjectTier.UploadTimeout, "tiers.object.upload-timeout");
        Require(ObjectTier.KeepLast >= 0, "tiers.object.keep-last", ObjectTier.KeepLast, "0 (keep every uploaded step) or more");
        Require(ObjectTier.KeepEvery >= 0, "tiers.object.keep-every", ObjectTier.KeepEvery, "0 (off) or more");
        if (ObjectTier.Enabled && BlobStores.IsDirectory(ObjectTier.Root))
            Require(Path.IsPathFullyQualified(ObjectTier.Root), "tiers.object.root", $"'{ObjectTier.Root}'", "an az:// or s3:// URI, or an absolute path");
        else if (ObjectTier.Enabled)
        {
            try
            {
                ObjectRoot.Parse(ObjectTier.Root);
            }
            catch (ActorCkptException e)
            {
                throw new ConfigurationException($"actorckpt.tiers.object.root: {e.Message}");
            }
        }
        return this;
    }

    private static void ValidateMemoryTier(MemoryTierSettings m)
    {
        Require(m.Replicas is >= 1 and <= 16, "tiers.memory.replicas", m.Replicas, "between 1 and 16");
        Require(m.BudgetBytes > 0 ^ m.BudgetFraction > 0, "tiers.memory.budget",
            m.BudgetBytes != 0 ? m.BudgetBytes : Percent(m.BudgetFraction), "a positive size or a percentage above 0%");
        Require(m.BudgetFraction <= 1, "tiers.memory.budget", Percent(m.BudgetFraction), "at most 100%");
        Require(m.KeepLast >= 0, "tiers.memory.keep-last", m.KeepLast, "0 (bounded by the budget only) or more");
        Require(Path.IsPathFullyQualified(m.Directory), "tiers.memory.directory", $"'{m.Directory}'", "an absolute path");
        RequireTimer(m.AckTimeout, "tiers.memory.ack-timeout");
        RequireTimer(m.LostAfter, "tiers.memory.lost-after");
        Require(m.RecycleFor >= TimeSpan.Zero && m.RecycleFor <= TimeSpan.FromDays(1), "tiers.memory.recycle-for", m.RecycleFor, "between 0 (off) and 1d");
        // Only a tier that is on names a directory with its host: a machine name that is no host id must not stop a disk-only node.
        if (m.Enabled && ReplicaLayout.HostProblem(m.Host) is { } problem)
            throw new ConfigurationException($"actorckpt.tiers.memory.host: {problem} (an empty host means the machine name; set one)");
    }

    private static string Percent(double fraction) => (fraction * 100).ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) + "%";

    /// <summary>Delay before retry number <paramref name="retry"/> (1-based).</summary>
    public TimeSpan BackoffFor(int retry)
    {
        var ticks = BackoffMin.Ticks * Math.Pow(2, Math.Max(0, retry - 1));
        return ticks >= BackoffMax.Ticks ? BackoffMax : TimeSpan.FromTicks((long)ticks);
    }

    /// <summary>
    /// A size that is held as an int (a buffer's length): one over 2 GiB is refused naming the key,
    /// as <see cref="Validated"/> refuses any other value out of range (found by fuzz/, target settings).
    /// </summary>
    private static int IntSize(Config c, string key, string accepted, string prefix = "")
    {
        var size = c.GetByteSize(key) ?? 0;
        return size is >= 0 and <= int.MaxValue ? (int)size : throw new ConfigurationException($"actorckpt.{prefix}{key} = {size}: must be {accepted}");
    }

    /// <summary>The longest <c>async.finish-on-dispose</c>, and any timeout's: 24 days, within a .NET timer's (about 24.8).</summary>
    internal static readonly TimeSpan MaxFinishOnDispose = TimeSpan.FromDays(24);

    /// <summary>The largest <c>writer.pool-size</c>: each writer is a thread.</summary>
    internal const int MaxWriterPoolSize = 1024;

    /// <summary>
    /// Refuses a duration a timer waits for that is not positive (0 too when <paramref name="zero"/>), or longer
    /// than <see cref="MaxFinishOnDispose"/>: .NET's and Akka's timers refuse more, and the save, load or start
    /// that set one would fail naming no key.
    /// </summary>
    internal static void RequireTimer(TimeSpan value, string key, string least = "positive", bool zero = false) =>
        Require((zero ? value >= TimeSpan.Zero : value > TimeSpan.Zero) && value <= MaxFinishOnDispose, key, value, $"{least}, at most {AsHocon(MaxFinishOnDispose)}");

    private static void Require(bool ok, string key, object value, string accepted)
    {
        if (!ok) throw new ConfigurationException($"actorckpt.{key} = {(value is TimeSpan t ? AsHocon(t) : value)}: must be {accepted}");
    }

    /// <summary>A duration the way a configuration writes it (500ms, 90s, 2d), in its largest whole unit.</summary>
    internal static string AsHocon(TimeSpan t)
    {
        var ticks = t.Ticks;
        foreach (var (unit, per) in new[] { ("d", TimeSpan.TicksPerDay), ("h", TimeSpan.TicksPerHour), ("m", TimeSpan.TicksPerMinute), ("s", TimeSpan.TicksPerSecond), ("ms", TimeSpan.TicksPerMillisecond), ("us", TimeSpan.TicksPerMicrosecond) })
            if (ticks != 0 && ticks % per == 0) return $"{ticks / per}{unit}";
        return ticks == 0 ? "0s" : $"{ticks * 100}ns";
    }
}
