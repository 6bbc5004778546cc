namespace ActorCkpt;

/// <summary>What <see cref="UploadQueue.Enqueue"/> decided.</summary>
/// <param name="Start">The step to upload now, or null.</param>
/// <param name="Superseded">A step that will not be uploaded after all (a newer one took its place), or null.</param>
internal readonly record struct UploadTurn(long? Start, long? Superseded);

/// <summary>
/// The object tier's uploads, one at a time. A step due while another uploads waits; a newer step
/// due meanwhile takes the waiting one's place (the newest copy is the one worth having), so an
/// object store slower than the saves never builds a backlog, and the upload under way is never cut short.
/// </summary>
internal sealed class UploadQueue
{
    /// <summary>The step uploading, or null.</summary>
    public long? Current { get; private set; }

    /// <summary>The step next in line, or null.</summary>
    public long? Waiting { get; private set; }

    /// <summary>Step <paramref name="step"/> is due.</summary>
    public UploadTurn Enqueue(long step)
    {
        if (Current == step || Waiting == step) return new UploadTurn(null, null);
        if (Current is null)
        {
            Current = step;
            return new UploadTurn(step, null);
        }
        if (Waiting is { } waiting && waiting > step) return new UploadTurn(null, step);
        var superseded = Waiting;
        Waiting = step;
        return new UploadTurn(null, superseded);
    }

    /// <summary>The upload of <paramref name="step"/> ended; returns the step to upload next, or null.</summary>
    public long? Finished(long step)
    {
        if (Current != step) return null;
        (Current, Waiting) = (Waiting, null);
        return Current;
    }
}
