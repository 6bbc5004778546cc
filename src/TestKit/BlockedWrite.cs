namespace ActorCkpt.TestKit;

/// <summary>
/// A write held until the test releases it (<see cref="StorageFaults.BlockWrite"/>): the chosen
/// write waits before its file is created, <see cref="Entered"/> tells when it has started waiting,
/// and <see cref="Release"/> lets it (and every later write of this fault) go through.
/// </summary>
public sealed class BlockedWrite : InjectedFault
{
    private readonly WriteGate _gate;

    internal BlockedWrite(string description, FaultPolicy policy, WriteGate gate)
        : base(description, policy) => _gate = gate;

    /// <summary>Completes, with the file's path under the root, when the chosen write has started waiting.</summary>
    public Task<string> Entered => _gate.Entered;

    /// <summary>True once released.</summary>
    public bool IsReleased => _gate.IsOpen;

    /// <summary>Lets the held write go on (it then proceeds as usual); idempotent.</summary>
    public void Release() => _gate.Open();
}
