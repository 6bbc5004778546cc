namespace ActorCkpt.SharedTests;

/// <summary>A store whose data-file creations wait at <paramref name="gate"/> until the test opens it: a save held mid-way, as on a slow disk. Not a fault store, so neither a dispose nor a shutdown stops it (also linked into ActorCkpt.Hosting.Tests).</summary>
internal sealed class GatedWrites(IBlobStore inner, WriteGate gate) : DelegatingBlobStore(inner)
{
    public override IBlobWriter Create(string path)
    {
        if (path.EndsWith(".safetensors", StringComparison.Ordinal)) gate.Pass(path);
        return Inner.Create(path);
    }
}
