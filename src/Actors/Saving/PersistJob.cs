namespace ActorCkpt;

/// <summary>
/// The background persist of one committed memory step to disk (pure): every data file is written
/// to the step directory by one of its holders, from its memory copy, own host first; a holder that
/// fails hands the file to the next; the step commits on disk once every file is written, and is
/// abandoned when a file has no holder left.
/// </summary>
internal sealed class PersistJob
{
    private readonly Dictionary<string, Queue<string>> _next = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (FileWritePlan Plan, FileWriteResult Expected)> _files = new(StringComparer.Ordinal);
    private readonly HashSet<string> _pending = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _current = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _writtenBy = new(StringComparer.Ordinal);

    /// <summary>
    /// The persist of memory step <paramref name="step"/> (attempt <paramref name="saveId"/>) of
    /// <paramref name="plan"/>, whose files were written as <paramref name="results"/> and are held as <paramref name="holders"/> say
    /// (each file's hosts in placement order).
    /// </summary>
    public PersistJob(long step, Guid saveId, GlobalSavePlan plan, IReadOnlyList<FileWriteResult> results, IReadOnlyDictionary<string, IReadOnlyList<string>> holders)
    {
        (Step, SaveId, Plan, Results) = (step, saveId, plan, results);
        var byName = results.ToDictionary(r => r.FileName, StringComparer.Ordinal);
        foreach (var file in plan.Files)
        {
            if (!byName.TryGetValue(file.FileName, out var expected)) throw new ArgumentException($"step {step}: no result for '{file.FileName}'", nameof(results));
            _files[file.FileName] = (file, expected);
            _next[file.FileName] = new Queue<string>(holders.GetValueOrDefault(file.FileName) ?? []);
            _pending.Add(file.FileName);
        }
    }

    /// <summary>The step.</summary>
    public long Step { get; }

    /// <summary>The attempt that committed it in memory.</summary>
    public Guid SaveId { get; }

    /// <summary>The step's plan, for the disk metadata.</summary>
    public GlobalSavePlan Plan { get; }

    /// <summary>What each file's copies hold, for the disk metadata and to check each disk file against.</summary>
    public IReadOnlyList<FileWriteResult> Results { get; }

    /// <summary>True once every file is written to disk.</summary>
    public bool Done => _pending.Count == 0;

    /// <summary>
    /// Who writes each file first: its first holder that is <paramref name="live"/>; or why the step
    /// cannot be persisted (a file with no live holder).
    /// </summary>
    public (IReadOnlyList<PersistSend> Sends, string? Problem) Start(Func<string, bool> live)
    {
        var sends = new List<PersistSend>();
        foreach (var file in _files.Keys)
        {
            if (Next(file, live) is not { } send) return (Array.Empty<PersistSend>(), $"'{file}' has no live holder to write it from");
            sends.Add(send);
        }
        return (sends, null);
    }

    /// <summary>
    /// A holder on <paramref name="node"/> wrote <paramref name="file"/> to disk; true when that was the
    /// last file. Heard only from the host the file was last sent to (null: from whichever).
    /// </summary>
    public bool Succeeded(string file, string? node = null, string? host = null)
    {
        if (host is not null && _current.GetValueOrDefault(file) != host) return false;
        if (!_pending.Remove(file)) return false;
        if (node is not null) _writtenBy[file] = node;
        return Done;
    }

    /// <summary>Files still being written by <paramref name="host"/> (for when it is lost).</summary>
    public IReadOnlyList<string> PendingOn(string host) => _pending.Where(f => _current.GetValueOrDefault(f) == host).ToArray();

    /// <summary>
    /// The plan with each file's node set to the node that wrote it to disk: loads through readers
    /// ask that node for its bytes.
    /// </summary>
    public GlobalSavePlan PlanAsWritten() => Plan with
    {
        Files = Plan.Files.Select(f => _writtenBy.TryGetValue(f.FileName, out var node) ? f with { WriterNode = node } : f).ToArray(),
    };

    /// <summary>
    /// <paramref name="file"/> again to the host it last went to (the process that had it stopped, and
    /// another on that host holds the same copy), or null when it is not pending.
    /// </summary>
    public PersistSend? Again(string file) => _pending.Contains(file) && _current.TryGetValue(file, out var host)
        ? new PersistSend(_files[file].Plan, _files[file].Expected, host)
        : null;

    /// <summary><paramref name="file"/>'s holder failed: the next <paramref name="live"/> holder to try, or null when none is left.</summary>
    public PersistSend? Failed(string file, Func<string, bool> live) => _pending.Contains(file) ? Next(file, live) : null;

    private PersistSend? Next(string file, Func<string, bool> live)
    {
        var hosts = _next[file];
        while (hosts.TryDequeue(out var host))
        {
            if (!live(host)) continue;
            _current[file] = host;
            return new PersistSend(_files[file].Plan, _files[file].Expected, host);
        }
        _current.Remove(file);
        return null;
    }
}

/// <summary>Have <paramref name="Host"/> write <paramref name="File"/> to disk from its copy, which must give <paramref name="Expected"/>.</summary>
/// <param name="File">The file's plan.</param>
/// <param name="Expected">The result its copies recorded.</param>
/// <param name="Host">The holder host to write it.</param>
internal sealed record PersistSend(FileWritePlan File, FileWriteResult Expected, string Host);
