
namespace ActorCkpt.Actors.Tests;

/// <summary>A node's view of storage without the data files (they live on other nodes): reading one fails.</summary>
internal sealed class NoDataFilesStore(IBlobStore inner) : DelegatingBlobStore(inner)
{
    public override IBlobReader OpenRead(string path) =>
        path.EndsWith(".safetensors", StringComparison.Ordinal)
            ? throw new FileNotFoundException($"'{path}' is not on this node")
            : Inner.OpenRead(path);
}
