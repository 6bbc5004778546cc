using TorchSharp;

namespace ActorCkpt.Host.Tests;

/// <summary>
/// The object tier through the public API of a one-process checkpointer (here over a second
/// directory; Azurite and s3rver in ObjectTierSpec): every second step goes up in the background,
/// the disk keeps only the newest, the newest step is found across tiers, a step gone from disk
/// loads from the object tier, and the tier's root reads on its own as a checkpoint root.
/// </summary>
public sealed class ObjectTierCheckpointerSpec : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    /// <summary>A checkpointer over this test's directory with <paramref name="tier"/>; its disk keeps the newest step only.</summary>
    private Checkpointer Start(ObjectTierOptions tier) => Checkpointer.Start(new CheckpointerOptions
    {
        Root = Path.Combine(_temp.Path, "ckpt"),
        Hocon = "akka.loglevel = WARNING",
        ObjectTier = tier,
        Settings = { ["retention.keep-last"] = "1", ["retention.grace-after-start"] = "0s" },
    });

    [Theory]
    [InlineData("itself")]
    [InlineData("link")]
    [InlineData("another")]
    [InlineData("file")]
    [InlineData("under-file")]
    public async Task A_tier_root_that_is_the_root_itself_another_jobs_root_or_a_file_should_be_refused_at_start_deleting_nothing(string which)
    {
        var root = Path.Combine(_temp.Path, "ckpt");
        var other = Path.Combine(_temp.Path, "other");
        await using (var job = Checkpointer.Start(other)) await job.SaveAsync(1, new RankState(0, 1).AddReplicated("w", torch.ones(4)));
        Directory.CreateDirectory(root);
        var link = Path.Combine(_temp.Path, "link");
        Directory.CreateSymbolicLink(link, root);
        var file = Path.Combine(_temp.Path, "file");
        await File.WriteAllTextAsync(file, "");
        var tier = which switch { "itself" => root, "link" => link, "file" => file, "under-file" => Path.Combine(file, "tier"), _ => other };
        var before = Directory.GetFileSystemEntries(other, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray();

        // Before: the tier took the root's (or the other job's) steps for its uploads and its retention
        // deleted them; a file was warned of at every upload, which all failed.
        var refused = Assert.Throws<Akka.Configuration.ConfigurationException>(() => Start(new ObjectTierOptions { Root = tier, Every = 1 }));

        Assert.Equal(which switch
        {
            "itself" => $"actorckpt.tiers.object.root = '{root}' is the checkpoint root itself: the tier would take the root's steps for its uploads; give it a directory of its own",
            "link" => $"actorckpt.tiers.object.root = '{link}' is the checkpoint root itself (it leads to '{root}'): the tier would take the root's steps for its uploads; give it a directory of its own",
            "file" => $"actorckpt.tiers.object.root = '{file}': '{file}' is a file, not a directory",
            "under-file" => $"actorckpt.tiers.object.root = '{file}/tier': '{file}' is a file, not a directory",
            _ => $"actorckpt.tiers.object.root = '{other}' is another checkpoint root (it holds catalog.id): the tier's retention would delete that root's steps; give it a directory of its own",
        }, refused.Message);
        Assert.Equal(before, Directory.GetFileSystemEntries(other, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray());
    }

    [Fact]
    public async Task Uploaded_steps_should_load_from_the_object_tier_once_the_disk_no_longer_holds_them()
    {
        var tier = Path.Combine(_temp.Path, "tier");
        await using var ckpt = Start(new ObjectTierOptions { Root = tier, Every = 2 });
        var weights = Enumerable.Range(1, 3).Select(step => torch.arange(12, dtype: torch.float32).reshape(3, 4) * step).ToArray();
        for (var step = 1; step <= 3; step++) await ckpt.SaveAsync(step, new RankState(0, 1).AddReplicated("w", weights[step - 1]));
        await ckpt.WaitForUploadsAsync().WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Contains(await ckpt.ReadCatalogAsync(), e => e.Step == 2 && e.OnObject);
        await AwaitAsync(async () => (await ckpt.ReadCatalogAsync()).Any(e => e.Step == 2 && e is { OnObject: true, OnDisk: false }));

        Assert.Equal(3, await ckpt.GetLatestStepAsync());
        using var loaded = torch.zeros(3, 4);
        var fromObject = await ckpt.LoadAsync(new RankState(0, 1).AddReplicated("w", loaded), 2);
        Assert.Equal((2L, StorageTier.Object), (fromObject.Step, fromObject.Tier));
        Assert.Equal(weights[1].data<float>().ToArray(), loaded.data<float>().ToArray());
        var fromDisk = await ckpt.LoadAsync(new RankState(0, 1).AddReplicated("w", loaded));
        Assert.Equal((3L, StorageTier.Disk), (fromDisk.Step, fromDisk.Tier));

        // A step only the tier holds is committed all the same: saving it again is refused, naming where it
        // is (while its disk files are still going, the refusal says that instead: asked again).
        using (var other = torch.zeros(3, 4))
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            CheckpointFailedException again;
            do again = await Assert.ThrowsAsync<CheckpointFailedException>(() => ckpt.SaveAsync(2, new RankState(0, 1).AddReplicated("w", other)));
            while (again.Message.Contains("step 2 is being deleted", StringComparison.Ordinal) && DateTime.UtcNow < deadline && await Task.Delay(20).ContinueWith(_ => true));
            Assert.Contains($"step 2 is already committed in the object tier of '{Path.Combine(_temp.Path, "ckpt")}'", again.Message);
        }
        Assert.Equal(2, (await ckpt.LoadAsync(new RankState(0, 1).AddReplicated("w", loaded), 2)).Step);
        Assert.Equal(weights[1].data<float>().ToArray(), loaded.data<float>().ToArray());

        // The tier's root is a checkpoint root of its own: a reader needs neither the catalog nor the job.
        var reader = CheckpointReader.Open(tier);
        Assert.Equal(new long[] { 2 }, reader.Steps);
        var read = await reader.LoadAsync(new RankState(0, 1).AddReplicated("w", loaded));
        Assert.Equal(2, read.Step);
        Assert.Equal(weights[1].data<float>().ToArray(), loaded.data<float>().ToArray());
        foreach (var w in weights) w.Dispose();
    }

    [Theory]
    [InlineData("root")]
    [InlineData("step")]
    public async Task The_newest_step_should_be_found_and_loaded_from_the_tier_when_the_disk_lost_it(string lost)
    {
        var tier = Path.Combine(_temp.Path, "tier");
        var root = Path.Combine(_temp.Path, "ckpt");
        var weights = Enumerable.Range(1, 3).Select(step => torch.arange(12, dtype: torch.float32).reshape(3, 4) * step).ToArray();
        await using (var job = Start(new ObjectTierOptions { Root = tier, Every = 1 }))
        {
            for (var step = 1; step <= 3; step++) await job.SaveAsync(step, new RankState(0, 1).AddReplicated("w", weights[step - 1]));
            await job.WaitForUploadsAsync().WaitAsync(TimeSpan.FromMinutes(1));
        }
        // The whole disk (catalog and all), or only the newest step's directory.
        if (lost == "root") Directory.Delete(root, recursive: true);
        else Directory.Delete(Path.Combine(root, CheckpointLayout.StepDirectory(3)), recursive: true);

        // Before: the whole-disk case said no checkpoint (a job resumed from step 1), and the
        // step case failed its load with "step 3 is not a committed checkpoint".
        await using var resumed = Start(new ObjectTierOptions { Root = tier, Every = 1 });
        Assert.Equal(3, await resumed.GetLatestStepAsync());
        using var loaded = torch.zeros(3, 4);
        var result = await resumed.LoadAsync(new RankState(0, 1).AddReplicated("w", loaded));
        Assert.Equal((3L, StorageTier.Object), (result.Step, result.Tier));
        Assert.Equal(weights[2].data<float>().ToArray(), loaded.data<float>().ToArray());
    }

    [Fact]
    public async Task The_object_tier_should_keep_its_newest_steps_and_the_multiples_of_keep_every_and_forget_the_others_in_the_catalog()
    {
        var tier = Path.Combine(_temp.Path, "tier");
        await using var ckpt = Start(new ObjectTierOptions { Root = tier, Every = 1, KeepLast = 2, KeepEvery = 2 });
        using var w = torch.ones(4);
        for (var step = 1; step <= 5; step++)
        {
            await ckpt.SaveAsync(step, new RankState(0, 1).AddReplicated("w", w));
            // One at a time, so that every step goes up (a step due while another uploads may be passed over).
            await ckpt.WaitForUploadsAsync().WaitAsync(TimeSpan.FromMinutes(1));
        }
        var tierSteps = new CheckpointStore(new LocalBlobStore(tier));
        // The newest two (4, 5) and step 2, a multiple of keep-every; 1 and 3 leave the tier.
        await AwaitAsync(() => Task.FromResult(tierSteps.CommittedSteps().SequenceEqual(new long[] { 2, 4, 5 })));

        var catalog = (await ckpt.ReadCatalogAsync()).ToDictionary(e => e.Step);
        Assert.Equal(new long[] { 2, 4, 5 }, catalog.Values.Where(e => e.OnObject).Select(e => e.Step).Order());
        Assert.All(new long[] { 1, 3 }, s => Assert.Equal((CheckpointStatus.Deleted, (string?)null), (catalog[s].Status, catalog[s].Uploaded)));
        Assert.Equal((true, true), (catalog[5].OnDisk, catalog[5].OnObject));
        Assert.All(new long[] { 2, 4 }, s => Assert.Equal((false, true), (catalog[s].OnDisk, catalog[s].OnObject)));
    }

    [Fact]
    public async Task What_a_killed_copy_left_in_the_tier_should_go_at_the_next_start_when_its_step_is_never_sent_again()
    {
        var tier = Path.Combine(_temp.Path, "tier");
        using var w = torch.ones(4);
        await using (var first = Start(new ObjectTierOptions { Root = tier, Every = 2 }))
        {
            for (var step = 1; step <= 3; step++)
            {
                await first.SaveAsync(step, new RankState(0, 1).AddReplicated("w", w));
                await first.WaitForUploadsAsync().WaitAsync(TimeSpan.FromMinutes(1));
            }
        }
        // The disk keeps step 3 (not due for the tier), the tier step 2. Copies killed before their
        // metadata went up: of step 8, which the job no longer has, and of step 3, still on the disk
        // but never sent (only due steps are, and of those on disk only the newest, resumed).
        Assert.Equal(new long[] { 3 }, new CheckpointStore(new LocalBlobStore(Path.Combine(_temp.Path, "ckpt"))).CommittedSteps());
        foreach (var step in new long[] { 8, 3 })
        {
            var dir = Path.Combine(tier, CheckpointLayout.StepDirectory(step));
            Directory.CreateDirectory(dir);
            await File.WriteAllBytesAsync(Path.Combine(dir, "r00000-000-0badf00d.safetensors"), new byte[1000]);
        }

        // Before: they stayed for good (step 3's because it was on the disk); nothing in the tier counts them.
        await using var resumed = Start(new ObjectTierOptions { Root = tier, Every = 2 });
        await AwaitAsync(() => Task.FromResult(new long[] { 3, 8 }.All(s => !Directory.Exists(Path.Combine(tier, CheckpointLayout.StepDirectory(s))))));
        Assert.Equal(new long[] { 2 }, new CheckpointStore(new LocalBlobStore(tier)).CommittedSteps());
        Assert.Equal(2, (await resumed.LoadAsync(new RankState(0, 1).AddReplicated("w", torch.zeros(4)), 2)).Step);
    }

    private static async Task AwaitAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the condition did not hold within 60 s");
            await Task.Delay(10);
        }
    }
}
