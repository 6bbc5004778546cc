
namespace ActorCkpt.Actors.Tests;

/// <summary>
/// A store whose data-file reads (<see cref="Kind.Reads"/>) or writes (<see cref="Kind.Writes"/>)
/// wait at a gate until the test opens it, then go through: it holds a load or a save mid-way.
/// </summary>
internal sealed class GatedStore(IBlobStore inner, GatedStore.Gate gate, GatedStore.Kind gated) : DelegatingBlobStore(inner)
{
    public enum Kind
    {
        Reads,
        Writes,
    }

    public override IBlobReader OpenRead(string path)
    {
        if (gated == Kind.Reads && path.EndsWith(".safetensors", StringComparison.Ordinal)) gate.Pass();
        return Inner.OpenRead(path);
    }

    public override IBlobWriter Create(string path)
    {
        if (gated == Kind.Writes && path.EndsWith(".safetensors", StringComparison.Ordinal)) gate.Pass();
        return Inner.Create(path);
    }

    /// <summary>
    /// Closed until <see cref="Open"/>; <see cref="Entered"/> completes when the first caller waits at it.
    /// The gate of the fault-injecting store (<see cref="WriteGate"/>, what ActorCkpt.TestKit's BlockWrite uses).
    /// </summary>
    public sealed class Gate
    {
        private readonly WriteGate _gate = new();

        public Task Entered => _gate.Entered;

        public void Open() => _gate.Open();

        public void Pass() => _gate.Pass("");
    }
}
