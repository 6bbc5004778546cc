namespace ActorCkpt.TestKit;

/// <summary>
/// The storage of a node of an <see cref="ActorCkptTestCluster"/>: once <see cref="Kill"/> is
/// called, every write, rename and delete fails, as nothing more comes from a dead process. A
/// write that was held (a blocked write released when its node is killed) so never lands.
/// </summary>
internal sealed class KillableBlobStore(IBlobStore inner) : DelegatingBlobStore(inner)
{
    private volatile bool _killed;

    /// <summary>The node is dead: its storage refuses everything from now on.</summary>
    public void Kill() => _killed = true;

    public override IBlobWriter Create(string path)
    {
        Alive(path);
        return new Writer(Inner.Create(path), this, path);
    }

    public override void Rename(string from, string to, bool overwrite)
    {
        Alive(from);
        Inner.Rename(from, to, overwrite);
    }

    public override void CreateDirectory(string path)
    {
        Alive(path);
        Inner.CreateDirectory(path);
    }

    public override void DeleteFile(string path)
    {
        Alive(path);
        Inner.DeleteFile(path);
    }

    public override void DeleteDirectory(string path)
    {
        Alive(path);
        Inner.DeleteDirectory(path);
    }

    private void Alive(string path)
    {
        if (_killed) throw new IOException($"'{path}': this node was killed (ActorCkptTestCluster.KillAsync)");
    }

    private sealed class Writer(IBlobWriter inner, KillableBlobStore store, string path) : IBlobWriter
    {
        public void Abandon() => inner.Abandon();

        public void Write(ReadOnlySpan<byte> data, long offset)
        {
            store.Alive(path);
            inner.Write(data, offset);
        }

        public void Flush()
        {
            store.Alive(path);
            inner.Flush();
        }

        public void Dispose() => inner.Dispose();
    }
}
