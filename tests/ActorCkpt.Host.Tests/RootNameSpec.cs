using TorchSharp;
using static TorchSharp.torch;

namespace ActorCkpt.Host.Tests;

/// <summary>A checkpoint root is any directory name: what HOCON gives meaning to is quoted wherever the root's path is written into configuration.</summary>
public sealed class RootNameSpec : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData("a=b")]
    [InlineData("say \"hi\"")]
    [InlineData("run #7: x, y { z }")]
    public async Task A_root_whose_name_holds_HOCON_s_own_characters_should_save_and_load(string name)
    {
        // Before, the start's warm-up copied the catalog's settings as bare HOCON, and a root with '=' failed it: 'Could not parse an unquoted text value containing assignment character'.
        var root = Path.Combine(_temp.Path, name);
        using var saved = nn.Linear(4, 3);
        using var loaded = nn.Linear(4, 3);
        await using (var ckpt = Checkpointer.Start(root))
            await ckpt.SaveAsync(1, 0, 1, new IStateful[] { new ModuleState(saved) });

        await using (var ckpt = Checkpointer.Start(root))
            await ckpt.LoadAsync(0, 1, new IStateful[] { new ModuleState(loaded) });

        Assert.True(File.Exists(Path.Combine(root, "catalog.db")));
        Assert.Equal(saved.weight!.bytes.ToArray(), loaded.weight!.bytes.ToArray());
        Assert.Equal(saved.bias!.bytes.ToArray(), loaded.bias!.bytes.ToArray());
    }

    [Theory]
    [InlineData("file://{0}", "is a file:// URI: give a local root as its path, '{0}'")]
    [InlineData("gs://bucket/run", "names a gs:// store, which ActorCkpt does not know: a root is a directory path, az://container/prefix or s3://bucket/prefix")]
    public void A_root_that_is_a_URI_of_another_scheme_should_be_refused_and_make_no_directory(string form, string why)
    {
        var root = string.Format(form, _temp.Path + "/r");
        var cwd = Directory.GetFileSystemEntries(Environment.CurrentDirectory);

        // Before: taken as a path, 'file:///x' saved into ./file:/x.
        var refused = Assert.Throws<ActorCkptException>(() => Checkpointer.Start(root));
        Assert.Equal($"'{root}' {string.Format(why, _temp.Path + "/r")}", refused.Message);
        Assert.Equal(refused.Message, Assert.Throws<ActorCkptException>(() => CheckpointReader.Open(root)).Message);
        Assert.Equal(cwd, Directory.GetFileSystemEntries(Environment.CurrentDirectory));
        Assert.False(Directory.Exists(_temp.Path + "/r"));
    }

    [Theory]
    [InlineData("step-00000001")]
    [InlineData("step-00000001/nested")]
    public async Task A_root_inside_a_step_directory_of_another_root_should_be_refused_leaving_the_step_as_it_was(string inside)
    {
        using var saved = nn.Linear(4, 3);
        await using (var ckpt = Checkpointer.Start(_temp.Path))
            await ckpt.SaveAsync(1, 0, 1, new IStateful[] { new ModuleState(saved) });
        var step = Path.Combine(_temp.Path, "step-00000001");
        var before = Directory.GetFileSystemEntries(step, "*", SearchOption.AllDirectories).Order().ToArray();

        var refused = Assert.Throws<ActorCkptException>(() => Checkpointer.Start(Path.Combine(_temp.Path, inside)));

        Assert.Equal($"'{Path.Combine(_temp.Path, inside)}' lies inside step directory 'step-00000001' of the checkpoint root '{_temp.Path}': " +
                     "give a root of its own, outside another root's steps", refused.Message);
        Assert.Equal(before, Directory.GetFileSystemEntries(step, "*", SearchOption.AllDirectories).Order().ToArray());
        using var loaded = nn.Linear(4, 3);
        await CheckpointReader.Open(_temp.Path).LoadAsync(0, 1, new IStateful[] { new ModuleState(loaded) }, 1);
        Assert.Equal(saved.weight!.bytes.ToArray(), loaded.weight!.bytes.ToArray());
    }

    [Theory]
    [InlineData("")]
    [InlineData("step-00000001")]
    [InlineData("step-00000001/nested")]
    public async Task A_root_on_an_object_tier_or_inside_its_steps_should_be_refused_leaving_the_tier_as_it_was(string inside)
    {
        var (job, tier) = (Path.Combine(_temp.Path, "job"), Path.Combine(_temp.Path, "tier"));
        using var saved = nn.Linear(4, 3);
        string id;
        await using (var ckpt = Checkpointer.Start(new CheckpointerOptions { Root = job, Hocon = $"actorckpt.tiers.object {{ root = \"{tier}\", every = 1 }}" }))
        {
            await ckpt.SaveAsync(1, 0, 1, new IStateful[] { new ModuleState(saved) });
            await ckpt.WaitForUploadsAsync();
            id = File.ReadAllText(Path.Combine(job, CheckpointLayout.RootIdFile)).Trim();
        }
        Assert.Equal(id, File.ReadAllText(Path.Combine(tier, CheckpointLayout.ObjectTierMarkerFile)).Trim());
        var before = Directory.GetFileSystemEntries(tier, "*", SearchOption.AllDirectories).Order().ToArray();

        // Before, a root made on the tier took the job's uploads for its own steps, and one inside a step folder went with that step.
        var root = inside.Length == 0 ? tier : Path.Combine(tier, inside);
        var refused = Assert.Throws<ActorCkptException>(() => Checkpointer.Start(root));
        Assert.Equal(inside.Length == 0
            ? $"'{tier}' is the object tier of another checkpoint root (its tier-of.id names the root with id {id}): "
              + "a checkpoint root made there would take that root's uploads for steps of its own; give it a directory of its own"
            : $"'{root}' lies inside step directory 'step-00000001' of the object tier '{tier}': give a root of its own, outside another root's steps", refused.Message);
        Assert.Equal(string.Join("\n", before), string.Join("\n", Directory.GetFileSystemEntries(tier, "*", SearchOption.AllDirectories).Order()));
    }
}
