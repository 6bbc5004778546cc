using System.Globalization;
using System.Text;
using ActorCkpt.Planner;

namespace ActorCkpt.Io;

/// <summary>
/// The checkpoints under one root and the commit protocol. A step is committed exactly when its
/// directory holds <see cref="CheckpointLayout.MetadataFile"/>: the metadata is written under a
/// temporary name, fsynced, then renamed (the commit point), and only then does the "latest"
/// tracker move. A crash before the rename leaves the previous checkpoint the newest one.
/// </summary>
public sealed class CheckpointStore(IBlobStore store)
{
    /// <summary>The underlying byte storage.</summary>
    public IBlobStore Blobs => store;

    /// <summary>True when step <paramref name="step"/> is committed.</summary>
    public bool IsCommitted(long step) => store.Exists(CheckpointLayout.InStep(step, CheckpointLayout.MetadataFile));

    /// <summary>Committed steps, oldest first. Directories without metadata (aborted or torn saves) are not checkpoints.</summary>
    public IReadOnlyList<long> CommittedSteps() =>
        store.ListDirectories("")
            .Select(name => CheckpointLayout.TryParseStepDirectory(name, out var s) ? s : -1)
            .Where(s => s >= 0 && IsCommitted(s))
            .Order()
            .ToArray();

    /// <summary>The newest committed step, or null when there is none.</summary>
    public long? LatestStep()
    {
        var steps = CommittedSteps();
        return steps.Count == 0 ? null : steps[^1];
    }

    /// <summary>Reads the metadata of committed step <paramref name="step"/>.</summary>
    public CheckpointMetadata ReadMetadata(long step)
    {
        var path = CheckpointLayout.InStep(step, CheckpointLayout.MetadataFile);
        if (!store.Exists(path))
            throw new CheckpointNotFoundException($"step {step} is not a committed checkpoint in '{store.Root}'");
        using var reader = store.OpenRead(path);
        var bytes = new byte[reader.Length];
        reader.ReadExactly(bytes, 0);
        return MetadataJson.Deserialize(bytes, path);
    }

    /// <summary>
    /// Makes an empty directory for a new save of <paramref name="step"/>. Throws
    /// <see cref="StepAlreadyCommittedException"/> when the step is committed; removes the
    /// debris of an earlier save of the same step that never committed.
    /// </summary>
    public void PrepareStep(long step)
    {
        if (IsCommitted(step)) throw new StepAlreadyCommittedException(step, store.Root);
        var dir = CheckpointLayout.StepDirectory(step);
        store.DeleteDirectory(dir);
        store.CreateDirectory(dir);
    }

    /// <summary>
    /// Commits <paramref name="metadata"/>: the step directory is fsynced (so its data files'
    /// entries are durable), the metadata is written under a temporary name and fsynced, then
    /// renamed to <see cref="CheckpointLayout.MetadataFile"/> without replacing anything. That
    /// rename is the commit point: once this returns, the step is committed. Throws
    /// <see cref="StepAlreadyCommittedException"/> when another save committed the step first.
    /// </summary>
    public void Commit(CheckpointMetadata metadata)
    {
        var step = metadata.Step;
        if (IsCommitted(step)) throw new StepAlreadyCommittedException(step, store.Root);
        store.SyncDirectory(CheckpointLayout.StepDirectory(step));
        WriteDurably(CheckpointLayout.InStep(step, CheckpointLayout.MetadataTempFile), MetadataJson.Serialize(metadata));
        try
        {
            store.Rename(CheckpointLayout.InStep(step, CheckpointLayout.MetadataTempFile), CheckpointLayout.InStep(step, CheckpointLayout.MetadataFile), overwrite: false);
        }
        catch (IOException) when (IsCommitted(step) && !store.Exists(CheckpointLayout.InStep(step, CheckpointLayout.MetadataTempFile)))
        {
            // The rename happened and only making it durable failed: the step is committed all the same.
        }
        catch (IOException) when (IsCommitted(step))
        {
            throw new StepAlreadyCommittedException(step, store.Root);
        }
    }

    /// <summary>
    /// Moves the "latest" tracker to <paramref name="step"/> unless it names a newer step. Called
    /// after <see cref="Commit"/>; the tracker is a convenience for tools, readers find the newest
    /// step from the directories, so a failure here loses nothing.
    /// </summary>
    public void MoveTracker(long step)
    {
        if (step < (ReadTracker() ?? -1)) return;
        WriteDurably(CheckpointLayout.LatestFile + ".tmp", Encoding.ASCII.GetBytes(step.ToString(CultureInfo.InvariantCulture) + "\n"));
        store.Rename(CheckpointLayout.LatestFile + ".tmp", CheckpointLayout.LatestFile, overwrite: true);
    }

    /// <summary>Removes the directory of step <paramref name="step"/> when it is not committed; a committed step is never touched.</summary>
    public bool DeleteUncommitted(long step)
    {
        if (IsCommitted(step)) return false;
        store.DeleteDirectory(CheckpointLayout.StepDirectory(step));
        return true;
    }

    /// <summary>The step named by the "latest" tracker, or null when there is none or it is unreadable.</summary>
    public long? ReadTracker()
    {
        if (!store.Exists(CheckpointLayout.LatestFile)) return null;
        using var reader = store.OpenRead(CheckpointLayout.LatestFile);
        var bytes = new byte[reader.Length];
        reader.ReadExactly(bytes, 0);
        return long.TryParse(Encoding.ASCII.GetString(bytes).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : null;
    }

    private void WriteDurably(string path, byte[] bytes)
    {
        using var writer = store.Create(path);
        writer.Write(bytes, 0);
        writer.Flush();
    }
}
