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
}
