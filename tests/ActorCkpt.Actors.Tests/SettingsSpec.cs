using Akka.Configuration;

namespace ActorCkpt.Actors.Tests;

/// <summary>
/// The checks of the <c>actorckpt</c> section at start (<see cref="SettingsValidator"/>, through
/// <see cref="ActorCkptSettings.Create(Config)"/>): unknown keys are refused with the nearest valid
/// key, values of the wrong form name their key and the form expected. No actor system.
/// </summary>
public sealed class SettingsSpec
{
    private static ConfigurationException Refused(string hocon) =>
        Assert.Throws<ConfigurationException>(() => ActorCkptSettings.Create(ConfigurationFactory.ParseString(hocon)));

    [Fact]
    public void The_defaults_should_pass()
    {
        Assert.Empty(SettingsValidator.Problems(ActorCkptConfig.Defaults));
        Assert.Equal(4, ActorCkptSettings.Create(Config.Empty).WriterPoolSize);
    }

    [Fact]
    public void A_misspelled_key_should_be_refused_naming_the_nearest_valid_key()
    {
        var e = Refused("actorckpt.writer.pool-sise = 8");
        Assert.Equal("actorckpt.writer.pool-sise is not a setting; did you mean actorckpt.writer.pool-size?", e.Message);
    }

    [Theory]
    [InlineData("actorckpt.retention { keep-lats = 3 }", "actorckpt.retention.keep-lats", "actorckpt.retention.keep-last")]
    [InlineData("actorckpt.planner.plan-timout = 30s", "actorckpt.planner.plan-timout", "actorckpt.planner.plan-timeout")]
    [InlineData("actorckpt.stagging.budget = 1GiB", "actorckpt.stagging.budget", "actorckpt.staging.budget")]
    [InlineData("actorckpt.rot = \"/x\"", "actorckpt.rot", "actorckpt.root")]
    public void Unknown_keys_anywhere_in_the_section_should_be_refused(string hocon, string key, string nearest)
    {
        Assert.Equal($"{key} is not a setting; did you mean {nearest}?", Refused(hocon).Message);
    }

    [Fact]
    public void Every_problem_should_be_reported_on_a_line_of_its_own()
    {
        var problems = SettingsValidator.Problems(ConfigurationFactory.ParseString("""
            actorckpt.writer.pool-size = four
            actorckpt.load.paralelism = 2
            """).WithFallback(ActorCkptConfig.Defaults));
        Assert.Equal(new[]
        {
            "actorckpt.load.paralelism is not a setting; did you mean actorckpt.load.parallelism?",
            "actorckpt.writer.pool-size = 'four': expected an integer",
        }, problems);
    }

    [Fact]
    public void Dispatcher_settings_should_take_any_key_Akka_accepts()
    {
        var settings = ActorCkptSettings.Create(ConfigurationFactory.ParseString("""
            actorckpt.writer-dispatcher { type = Dispatcher, throughput = 10, fork-join-executor.parallelism-min = 2 }
            actorckpt.writer.dispatcher = "actorckpt.io-dispatcher"
            actorckpt.io-dispatcher { type = ForkJoinDispatcher, dedicated-thread-pool.thread-count = 3 }
            """));
        Assert.Equal("actorckpt.io-dispatcher", settings.WriterDispatcher);
    }

    [Fact]
    public void A_section_where_a_value_belongs_and_a_value_where_a_section_belongs_should_be_refused()
    {
        Assert.Equal("actorckpt.writer.pool-size is set to a section of settings: expected an integer",
            Refused("actorckpt.writer.pool-size { min = 2 }").Message);
        Assert.Equal("actorckpt.retention = '3': expected a section of settings (actorckpt.retention { ... }), not a value",
            Refused("actorckpt.retention = 3").Message);
    }

    [Theory]
    [InlineData("actorckpt.writer.pool-size = four", "actorckpt.writer.pool-size = 'four': expected an integer")]
    [InlineData("actorckpt.retention.keep-every = 1.5", "actorckpt.retention.keep-every = '1.5': expected an integer")]
    [InlineData("actorckpt.retention.keep-last = 2147483648", "actorckpt.retention.keep-last = '2147483648': expected an integer of at most 2147483647")]
    [InlineData("actorckpt.retention.keep-every = -9223372036854775809", "actorckpt.retention.keep-every = '-9223372036854775809': expected an integer of at least -9223372036854775808")]
    [InlineData("actorckpt.planner.plan-timeout = soon", "actorckpt.planner.plan-timeout = 'soon': expected a duration with its unit, such as 30s or 500ms")]
    [InlineData("actorckpt.writer.backoff-max = \"2 fortnights\"", "actorckpt.writer.backoff-max = '2 fortnights': expected a duration with its unit, such as 30s or 500ms")]
    [InlineData("actorckpt.staging.budget = lots", "actorckpt.staging.budget = 'lots': expected a size in bytes such as 64KiB")]
    [InlineData("actorckpt.staging.skip-replicas-written-elsewhere = maybe", "actorckpt.staging.skip-replicas-written-elsewhere = 'maybe': expected on or off")]
    [InlineData("actorckpt.planner.dedup = random", "actorckpt.planner.dedup = 'random': expected one of balanced, lowest-rank")]
    [InlineData("actorckpt.load.source = nfs", "actorckpt.load.source = 'nfs': expected one of shared, reader")]
    [InlineData("actorckpt.io.copy-writes = sometimes", "actorckpt.io.copy-writes = 'sometimes': expected one of auto, on, off")]
    [InlineData("actorckpt.planner.plan-timeout = 60", "actorckpt.planner.plan-timeout = '60': expected a duration with its unit, such as 30s or 500ms")]
    [InlineData("actorckpt.planner.plan-timeout = infinite", "actorckpt.planner.plan-timeout = 'infinite': expected a duration with its unit, such as 30s or 500ms")]
    [InlineData("actorckpt.tiers.object.root = [1, 2]", "actorckpt.tiers.object.root = [1,2]: expected text, not a list")]
    [InlineData("actorckpt.writer.pool-size = [8]", "actorckpt.writer.pool-size = [8]: expected an integer, not a list")]
    [InlineData("actorckpt { \"writer.pool-size\" = many }", "actorckpt.\"writer.pool-size\" is one quoted key with dots in its name, which sets nothing; write the key without quotes")]
    [InlineData("\"actorckpt.writer.pool-size\" = many", "\"actorckpt.writer.pool-size\" is one quoted key with dots in its name, which sets nothing; write the key without quotes")]
    [InlineData("actorckpt.async.finish-on-dispose = -1s", "actorckpt.async.finish-on-dispose = '-1s': expected a duration with its unit, such as 30s or 500ms, and never negative")]
    [InlineData("actorckpt.shard.plan-resend-interval = \" -1500 ms\"", "actorckpt.shard.plan-resend-interval = '-1500 ms': expected a duration with its unit, such as 30s or 500ms, and never negative")]
    [InlineData("actorckpt.planner.write-timeout = 0ms", "actorckpt.planner.write-timeout = 0s: must be positive, at most 24d")]
    // Before, accepted: past a timer's longest wait every save failed with "Specified argument was out of the range of valid values. (Parameter 'delay')".
    [InlineData("actorckpt.planner.write-timeout = 60d", "actorckpt.planner.write-timeout = 60d: must be positive, at most 24d")]
    [InlineData("actorckpt.planner.plan-timeout = 60d", "actorckpt.planner.plan-timeout = 60d: must be positive, at most 24d")]
    [InlineData("actorckpt.retention.grace-after-start = 60d", "actorckpt.retention.grace-after-start = 60d: must be 0 or more, at most 24d")]
    [InlineData("actorckpt.transfer.channel.connect-timeout = 60d", "actorckpt.transfer.channel.connect-timeout must be positive, at most 24d")]
    [InlineData("actorckpt.transfer.channel.idle-timeout = 60d", "actorckpt.transfer.channel.idle-timeout must be positive, at most 24d")]
    // Before, accepted: a thread per writer, and the process ended out of memory.
    [InlineData("actorckpt.writer.pool-size = 100000", "actorckpt.writer.pool-size = 100000: must be between 1 and 1024")]
    [InlineData("actorckpt.writer.backoff-max = 60d", "actorckpt.writer.backoff-max = 60d: must be at least writer.backoff-min, at most 24d")]
    // Before, accepted: 30 days overflowed the coordinated shutdown's phase timeout (a timer's) at the process's end.
    [InlineData("actorckpt.async.finish-on-dispose = 30d", "actorckpt.async.finish-on-dispose = 30d: must be 0 or more, at most 24d")]
    [InlineData("actorckpt.writer { backoff-min = 90s, backoff-max = 1500ms }", "actorckpt.writer.backoff-max = 1500ms: must be at least writer.backoff-min")]
    public void A_value_of_the_wrong_form_should_name_its_key_and_the_form_expected(string hocon, string message)
    {
        Assert.Equal(message, Refused(hocon).Message);
    }

    [Theory]
    [InlineData("actorckpt.writer.pool-size = \"8\"")]
    [InlineData("actorckpt.planner.plan-timeout = \"2 minutes\"")]
    [InlineData("actorckpt.staging.budget = 512MiB")]
    [InlineData("actorckpt.staging.skip-replicas-written-elsewhere = off")]
    [InlineData("actorckpt.io.copy-writes = off")]
    [InlineData("actorckpt.writer { backoff-min = 0s, backoff-max = 0s }")]
    [InlineData("actorckpt.fault-injection.kill-at { point = renamed, step = 3 }")]
    public void Values_in_any_form_HOCON_accepts_should_pass(string hocon)
    {
        ActorCkptSettings.Create(ConfigurationFactory.ParseString(hocon));
    }

    [Theory]
    [InlineData("actorckpt.transfer.path = carrier-pigeon", "actorckpt.transfer.path = 'carrier-pigeon': expected one of channel, stream-refs")]
    [InlineData("actorckpt.transfer.channel { frame-size = 1MiB, window = 512KiB }", "actorckpt.transfer.channel.window: 524288 bytes is less than one frame (1048576)")]
    [InlineData("actorckpt.transfer.channel.window = 100GiB", "actorckpt.transfer.channel.window = 107374182400: must be at least frame-size and below 2 GiB")]
    [InlineData("actorckpt.transfer.channel.frame-size = 1KiB", "actorckpt.transfer.channel.frame-size: 1024 bytes is outside 4KiB to 64MiB")]
    [InlineData("actorckpt.transfer.channel.port = 70000", "actorckpt.transfer.channel.port: 70000 is not a port (0 to 65535)")]
    [InlineData("actorckpt.transfer.channel.tls.enabled = on", "actorckpt.transfer.channel.tls.certificate must name a PEM file when actorckpt.transfer.channel.tls.enabled = on")]
    public void A_bulk_channel_setting_out_of_range_should_be_refused_naming_its_key(string hocon, string message)
    {
        Assert.Equal(message, Refused(hocon).Message);
    }

    [Fact]
    public void The_memory_tier_should_be_off_by_default_with_the_documented_values()
    {
        var settings = ActorCkptSettings.Create(Config.Empty);
        Assert.Equal(MemoryTierSettings.Off, settings.MemoryTier);
        Assert.Equal(new TierPolicy(false, 10), settings.Tiers);
        Assert.Equal(TierChoice.Disk, settings.Tiers.Choose(10, SaveTier.Policy));
        Assert.Equal(TimeSpan.FromMinutes(10), settings.PersistTimeout);
        Assert.Equal(Environment.MachineName, settings.MemoryTier.Host);
    }

    [Fact]
    public void Every_memory_tier_key_should_reach_the_settings()
    {
        var settings = ActorCkptSettings.Create(ConfigurationFactory.ParseString("""
            actorckpt.tiers {
              memory { enabled = on, replicas = 3, budget = 8GiB, keep-last = 4, keep-persisted = on, directory = "/dev/shm/x"
                       host = node-1, ack-timeout = 5s, lost-after = 7s, re-replicate = on, verify-on-start = full, recycle-for = 90s }
              disk { every = 4, persist-timeout = 3m }
            }
            """));
        Assert.Equal(new MemoryTierSettings(true, 3, 8L << 30, 0, 4, true, "/dev/shm/x", "node-1",
            TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(7), true, true) { RecycleFor = TimeSpan.FromSeconds(90) }, settings.MemoryTier);
        Assert.Equal(TimeSpan.FromSeconds(60), ActorCkptSettings.Create(ConfigurationFactory.ParseString("")).MemoryTier.RecycleFor);
        Assert.Equal(new TierPolicy(true, 4), settings.Tiers);
        Assert.Equal(TimeSpan.FromMinutes(3), settings.PersistTimeout);
    }

    [Theory]
    [InlineData("50%", 0.5)]
    [InlineData("12.5 %", 0.125)]
    [InlineData("100%", 1.0)]
    public void A_memory_budget_given_as_a_percentage_should_be_a_fraction_of_the_tmpfs(string budget, double fraction)
    {
        var settings = ActorCkptSettings.Create(ConfigurationFactory.ParseString($"actorckpt.tiers.memory.budget = \"{budget}\""));
        Assert.Equal((0L, fraction), (settings.MemoryTier.BudgetBytes, settings.MemoryTier.BudgetFraction));
        Assert.Equal((long)(fraction * 1000), settings.MemoryTier.BudgetOn(1000));
    }

    [Theory]
    [InlineData("actorckpt.tiers.memory.replica = 3", "actorckpt.tiers.memory.replica is not a setting; did you mean actorckpt.tiers.memory.replicas?")]
    [InlineData("actorckpt.tiers.memory.budget = lots", "actorckpt.tiers.memory.budget = 'lots': expected a size such as 8GiB or a percentage such as 50%")]
    [InlineData("actorckpt.tiers.memory.budget = \"-5%\"", "actorckpt.tiers.memory.budget = '-5%': expected a size such as 8GiB or a percentage such as 50%")]
    [InlineData("actorckpt.tiers.memory.verify-on-start = always", "actorckpt.tiers.memory.verify-on-start = 'always': expected one of headers, full")]
    [InlineData("actorckpt.tiers.memory.replicas = 0", "actorckpt.tiers.memory.replicas = 0: must be between 1 and 16")]
    [InlineData("actorckpt.tiers.memory.replicas = 17", "actorckpt.tiers.memory.replicas = 17: must be between 1 and 16")]
    [InlineData("actorckpt.tiers.memory.budget = 0", "actorckpt.tiers.memory.budget = 0%: must be a positive size or a percentage above 0%")]
    // Before: "= 0%", not the value given.
    [InlineData("actorckpt.tiers.memory.budget = -1", "actorckpt.tiers.memory.budget = -1: must be a positive size or a percentage above 0%")]
    [InlineData("actorckpt.tiers.memory.budget = \"150%\"", "actorckpt.tiers.memory.budget = 150%: must be at most 100%")]
    [InlineData("actorckpt.tiers.memory.keep-last = -1", "actorckpt.tiers.memory.keep-last = -1: must be 0 (bounded by the budget only) or more")]
    [InlineData("actorckpt.tiers.memory.directory = shm", "actorckpt.tiers.memory.directory = 'shm': must be an absolute path")]
    [InlineData("actorckpt.tiers.memory.ack-timeout = 0s", "actorckpt.tiers.memory.ack-timeout = 0s: must be positive, at most 24d")]
    [InlineData("actorckpt.tiers.memory.lost-after = 60d", "actorckpt.tiers.memory.lost-after = 60d: must be positive, at most 24d")]
    [InlineData("actorckpt.tiers.memory.recycle-for = 2d", "actorckpt.tiers.memory.recycle-for = 2d: must be between 0 (off) and 1d")]
    [InlineData("actorckpt.tiers.disk.every = -1", "actorckpt.tiers.disk.every = -1: must be 0 (only saves that ask for the disk) or more")]
    [InlineData("actorckpt.tiers.memory { enabled = on, host = \"../x\" }", "actorckpt.tiers.memory.host: host id '../x' holds '/': only letters, digits, '.', '_' and '-' are allowed (an empty host means the machine name; set one)")]
    public void A_memory_tier_setting_that_is_wrong_should_be_refused_naming_its_key(string hocon, string message)
    {
        Assert.Equal(message, Refused(hocon).Message);
    }

    [Theory]
    [InlineData("actorckpt.object-store.part-size = 1MiB", "actorckpt.object-store.part-size = 1048576: must be between 5 MiB (S3's smallest part) and 1 GiB")]
    [InlineData("actorckpt.object-store.parallelism = 0", "actorckpt.object-store.parallelism = 0: must be between 1 and 256")]
    [InlineData("actorckpt.object-store.retries = -1", "actorckpt.object-store.retries = -1: must be between 0 and 100")]
    // Before: "= 00:00:00: must be positive", and 60d accepted, then every request failed naming no key.
    [InlineData("actorckpt.object-store.request-timeout = 0s", "actorckpt.object-store.request-timeout = 0s: must be positive, at most 24d")]
    [InlineData("actorckpt.object-store.request-timeout = 60d", "actorckpt.object-store.request-timeout = 60d: must be positive, at most 24d")]
    [InlineData("actorckpt.object-store.azure-block-checksum = sha1", "actorckpt.object-store.azure-block-checksum = 'sha1': expected one of crc64, md5")]
    [InlineData("actorckpt.object-store.endpoint = \"127.0.0.1:9000\"", "actorckpt.object-store.endpoint = '127.0.0.1:9000': must be an absolute http or https URL (http://127.0.0.1:10000/devstoreaccount1, https://s3.example.com)")]
    // Before, both accepted: "/relative" as a file URI, "localhost:9000" as of scheme "localhost"; the SDK refused them at the first request.
    [InlineData("actorckpt.object-store.endpoint = \"/relative\"", "actorckpt.object-store.endpoint = '/relative': must be an absolute http or https URL (http://127.0.0.1:10000/devstoreaccount1, https://s3.example.com)")]
    [InlineData("actorckpt.object-store.endpoint = \"localhost:9000\"", "actorckpt.object-store.endpoint = 'localhost:9000': must be an absolute http or https URL (http://127.0.0.1:10000/devstoreaccount1, https://s3.example.com)")]
    public void An_object_store_setting_that_is_wrong_should_be_refused_naming_its_key(string hocon, string message)
    {
        Assert.Equal(message, Refused(hocon).Message);
    }

    [Theory]
    [InlineData("actorckpt.tiers.object.root = tier", "actorckpt.tiers.object.root = 'tier': must be an az:// or s3:// URI, or an absolute path")]
    [InlineData("actorckpt.tiers.object.root = \"s3://B/x\"", "actorckpt.tiers.object.root: 's3://B/x': 'B' is not an S3 bucket name (3-63 characters: lowercase letters, digits, single dots and hyphens, starting and ending with a letter or digit, not shaped as an IP address)")]
    [InlineData("actorckpt.tiers.object.every = 0", "actorckpt.tiers.object.every = 0: must be at least 1")]
    [InlineData("actorckpt.tiers.object.keep-last = -1", "actorckpt.tiers.object.keep-last = -1: must be 0 (keep every uploaded step) or more")]
    [InlineData("actorckpt.tiers.object.keep-every = -10", "actorckpt.tiers.object.keep-every = -10: must be 0 (off) or more")]
    [InlineData("actorckpt.tiers.object.upload-timeout = 0s", "actorckpt.tiers.object.upload-timeout = 0s: must be positive, at most 24d")]
    [InlineData("actorckpt.tiers.object.upload-timeout = 50d", "actorckpt.tiers.object.upload-timeout = 50d: must be positive, at most 24d")]
    [InlineData("actorckpt.tiers.object.every = often", "actorckpt.tiers.object.every = 'often': expected an integer")]
    public void An_object_tier_setting_that_is_wrong_should_be_refused_naming_its_key(string hocon, string message)
    {
        Assert.Equal(message, Refused(hocon).Message);
    }

    [Fact]
    public void An_object_tier_root_should_turn_the_tier_on_and_persist_memory_steps_due_for_it()
    {
        var settings = ActorCkptSettings.Create(ConfigurationFactory.ParseString(
            "actorckpt.tiers { object { root = \"az://ckpt/job\", every = 4 }\n memory.enabled = on }"));
        Assert.Equal(new ObjectTierSettings("az://ckpt/job", 4, TimeSpan.FromHours(1)), settings.ObjectTier);
        Assert.True(settings.ObjectTier.Due(8));
        Assert.Equal(new TierChoice(StorageTier.Memory, true), settings.Tiers.Choose(8, SaveTier.Policy));
        Assert.False(ActorCkptSettings.Create(ConfigurationFactory.ParseString("")).ObjectTier.Enabled);
    }

    [Fact]
    public void Object_store_settings_should_reach_the_options()
    {
        var o = ActorCkptSettings.Create(ConfigurationFactory.ParseString(
            "actorckpt.object-store { endpoint = \"http://127.0.0.1:9000\", region = eu-west-1, create-missing = on, part-size = 8MiB, parallelism = 6, state-directory = /tmp/s, azure-block-checksum = md5 }")).ObjectStore;
        Assert.Equal(("http://127.0.0.1:9000", "eu-west-1", true, 8 << 20, 6, "/tmp/s", AzureBlockChecksum.Md5),
            (o.Endpoint, o.Region, o.CreateMissing, o.PartSize, o.Parallelism, o.StateDirectory, o.AzureBlockChecksum));
        var defaults = ActorCkptSettings.Create(ConfigurationFactory.Empty).ObjectStore;
        Assert.Equal((16 << 20, 4, 6, false, (string?)null, AzureBlockChecksum.Crc64),
            (defaults.PartSize, defaults.Parallelism, defaults.Retries, defaults.CreateMissing, defaults.AccessKeyId, defaults.AzureBlockChecksum));
    }

    [Fact]
    public void A_host_id_that_is_wrong_should_not_stop_a_node_whose_memory_tier_is_off()
    {
        Assert.Equal("a b", ActorCkptSettings.Create(ConfigurationFactory.ParseString("actorckpt.tiers.memory.host = \"a b\"")).MemoryTier.Host);
    }

    [Fact]
    public void Every_key_with_a_form_should_be_a_key_of_the_defaults()
    {
        var defaults = ActorCkptConfig.Defaults;
        Assert.All(SettingsValidator.Forms.Keys, key => Assert.True(defaults.HasPath(key), key));
    }

    [Fact]
    public void Every_default_number_size_or_duration_should_have_a_form_that_checks_it()
    {
        // A key without a form passes validation as text: a malformed number or duration then fails later, raw.
        var leaves = Leaves("actorckpt", ActorCkptConfig.Defaults.GetValue("actorckpt"))
            .Where(kv => kv.Value.Length > 0 && char.IsAsciiDigit(kv.Value[0])).Select(kv => kv.Key).ToArray();
        Assert.Contains("actorckpt.writer.pool-size", leaves);
        Assert.All(leaves, key => Assert.True(SettingsValidator.Forms.ContainsKey(key), key));

        static IEnumerable<KeyValuePair<string, string>> Leaves(string path, Akka.Configuration.Hocon.HoconValue value) =>
            value.IsObject()
                ? value.GetObject().Items.SelectMany(item => Leaves($"{path}.{item.Key}", item.Value))
                : value.IsString() ? [new(path, value.GetString())] : [];
    }

    [Theory]
    [InlineData("kitten", "sitting", 3)]
    [InlineData("", "abc", 3)]
    [InlineData("pool-sise", "pool-size", 1)]
    [InlineData("same", "same", 0)]
    public void The_edit_distance_should_count_single_character_edits(string a, string b, int distance)
    {
        Assert.Equal(distance, SettingsValidator.EditDistance(a, b));
    }
}
