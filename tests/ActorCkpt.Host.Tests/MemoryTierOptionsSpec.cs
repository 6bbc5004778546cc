using ActorCkpt.Hosting;
using Microsoft.Extensions.Configuration;

namespace ActorCkpt.Host.Tests;

/// <summary>
/// The memory tier's options (<see cref="MemoryTierOptions"/>) reach the <c>actorckpt.tiers</c>
/// settings from code, from appsettings-style configuration, and under the string settings that override them.
/// </summary>
public sealed class MemoryTierOptionsSpec
{
    [Fact]
    public void Options_set_in_code_should_reach_the_settings_and_unset_ones_keep_the_defaults()
    {
        var settings = ActorCkptSettings.Create(CheckpointerConfig.Build(new CheckpointerOptions
        {
            Root = "/tmp/x",
            MemoryTier = new MemoryTierOptions { Enabled = true, Replicas = 3, Budget = "2GiB", DiskEvery = 5, Host = "h1", Directory = "/dev/shm/t" },
        }));
        Assert.Equal(MemoryTierSettings.Off with { Enabled = true, Replicas = 3, BudgetBytes = 2L << 30, BudgetFraction = 0, Host = "h1", Directory = "/dev/shm/t" },
            settings.MemoryTier);
        Assert.Equal(new TierPolicy(true, 5), settings.Tiers);

        var unset = ActorCkptSettings.Create(CheckpointerConfig.Build(new CheckpointerOptions { Root = "/tmp/x" }));
        Assert.Equal(MemoryTierSettings.Off, unset.MemoryTier);
    }

    [Fact]
    public void Object_tier_options_set_in_code_should_reach_the_settings_under_the_string_settings()
    {
        var options = new CheckpointerOptions
        {
            Root = "/tmp/x",
            ObjectTier = new ObjectTierOptions { Root = "s3://bucket/job", Every = 5, UploadTimeout = TimeSpan.FromMinutes(20), KeepLast = 3, KeepEvery = 100 },
        };
        Assert.Equal(new ObjectTierSettings("s3://bucket/job", 5, TimeSpan.FromMinutes(20), 3, 100), ActorCkptSettings.Create(CheckpointerConfig.Build(options)).ObjectTier);
        options.Settings["tiers.object.every"] = "7";
        Assert.Equal(7, ActorCkptSettings.Create(CheckpointerConfig.Build(options)).ObjectTier.Every);
        Assert.Equal(ObjectTierSettings.Off, ActorCkptSettings.Create(CheckpointerConfig.Build(new CheckpointerOptions { Root = "/tmp/x" })).ObjectTier);
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(1500.25)]
    public void An_upload_timeout_under_a_whole_millisecond_should_reach_the_settings_as_given(double milliseconds)
    {
        // Before: cut to whole milliseconds, so 0.5 ms was refused as "= 0s: must be positive".
        var timeout = TimeSpan.FromMilliseconds(milliseconds);
        var options = new CheckpointerOptions { Root = "/tmp/x", ObjectTier = new ObjectTierOptions { Root = "/tmp/tier", UploadTimeout = timeout } };
        Assert.Equal(timeout, ActorCkptSettings.Create(CheckpointerConfig.Build(options)).ObjectTier.UploadTimeout);
    }

    [Fact]
    public void String_settings_should_override_the_options()
    {
        var options = new CheckpointerOptions { Root = "/tmp/x", MemoryTier = new MemoryTierOptions { Replicas = 3 } };
        options.Settings["tiers.memory.replicas"] = "4";
        Assert.Equal(4, ActorCkptSettings.Create(CheckpointerConfig.Build(options)).MemoryTier.Replicas);
    }

    [Fact]
    public void Options_bound_from_configuration_should_reach_the_settings_of_a_hosted_node()
    {
        var options = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ActorCkpt:Root"] = "/tmp/x",
            ["ActorCkpt:MemoryTier:Enabled"] = "true",
            ["ActorCkpt:MemoryTier:Budget"] = "25%",
            ["ActorCkpt:MemoryTier:DiskEvery"] = "0",
        }).Build().GetSection("ActorCkpt").Get<ActorCkptOptions>()!;
        var settings = ActorCkptSettings.Create(options.ToConfig());
        Assert.Equal((true, 0L, 0.25, 2), (settings.MemoryTier.Enabled, settings.MemoryTier.BudgetBytes, settings.MemoryTier.BudgetFraction, settings.MemoryTier.Replicas));
        Assert.Equal(new TierPolicy(true, 0), settings.Tiers);
    }

    [Fact]
    public void A_wrong_value_should_be_refused_naming_its_key()
    {
        var e = Assert.Throws<Akka.Configuration.ConfigurationException>(() => ActorCkptSettings.Create(CheckpointerConfig.Build(new CheckpointerOptions
        {
            Root = "/tmp/x",
            MemoryTier = new MemoryTierOptions { Budget = "half" },
        })));
        Assert.Equal("actorckpt.tiers.memory.budget = 'half': expected a size such as 8GiB or a percentage such as 50%", e.Message);
    }
}
