namespace ActorCkpt;

/// <summary>A write failure made on purpose by <see cref="FaultInjectingBlobStore"/>.</summary>
internal sealed class InjectedFaultException : IOException
{
    /// <summary>Creates the exception for write number <paramref name="writeNumber"/> of <paramref name="path"/>.</summary>
    public InjectedFaultException(string path, int writeNumber)
        : base($"injected fault in write #{writeNumber} of '{path}'") { }
}
