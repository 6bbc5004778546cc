using ActorCkpt.Io;

namespace ActorCkpt.Actors.Tests;

/// <summary>A store whose data-file writes wait at a gate until the test opens it, then go through: it holds a save mid-write.</summary>
public sealed class GatedWriteStore(IBlobStore inner, GatedReadStore.Gate gate) : DelegatingBlobStore(inner)
{
    public override IBlobWriter Create(string path)
    {
        if (path.EndsWith(".safetensors", StringComparison.Ordinal)) gate.Pass();
        return Inner.Create(path);
    }
}
