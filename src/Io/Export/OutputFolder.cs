using System.Security.Cryptography;

namespace ActorCkpt;

/// <summary>
/// The folder an export or unshard writes, which appears at its destination whole or not at all.
/// Call order: <see cref="Begin"/> (refuses a destination that is not ours to replace, settles the
/// debris of killed runs, makes a hidden folder beside the destination), <see cref="Record"/> (the
/// files it will hold, written first as the <see cref="OutputMarker"/>), the files through
/// <see cref="Store"/> (each fsynced; an index last), <see cref="Commit"/> (checks the folder holds
/// exactly the recorded files, fsyncs its folders, puts it in place), and <see cref="Dispose"/>,
/// which removes the hidden folder unless it was committed. Putting in place is one rename when
/// the destination does not exist, and one atomic swap (renameat2 RENAME_EXCHANGE) when it holds a
/// previous output, which is then removed; where a swap is not supported (NFS, not Linux) the
/// previous output is renamed aside first, and a crash between the two renames is undone by the
/// next run (<see cref="OutputDebris"/>). A failure at any point leaves the previous output as it
/// was, byte for byte, and no hidden folder; a kill leaves it as it was too (between the fallback's
/// two renames, whole under its aside name, which the next run renames back before anything else).
/// </summary>
internal sealed class OutputFolder : IDisposable
{
    // The outputs of this process not yet committed nor disposed: what an interrupted run removes.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<OutputFolder, byte> Unfinished = new();
    // Taken to begin an output and to interrupt: an output begins before the interrupt (and is removed) or not at all.
    private static readonly object Beginning = new();
    // Set by AbandonAll: the process ends once the signal's handlers return, but its threads run on
    // meanwhile (.NET's SIGTERM exits through ProcessExit), and an output begun then was left behind.
    private static bool s_interrupted;
    private static int s_putInPlace;
    // AbandonAll runs once at a time: a second signal (a second Ctrl-C; `timeout` signals the process
    // and its group) must not end the process while the first handler still removes a folder.
    private static readonly object Abandoning = new();
    private static int s_abandoned;
    private readonly object _gate = new();
    private readonly string _parent;
    private readonly string _name;
    private readonly string _command;
    private readonly bool _exchange;
    private IReadOnlyList<string>? _files;
    private bool _committed;
    private bool _abandoned;
    private readonly bool _replacing;

    private OutputFolder(string destination, string temp, string command, Func<IBlobStore, IBlobStore>? wrap, bool exchange, bool replacing)
    {
        _replacing = replacing;
        Destination = destination;
        TemporaryPath = temp;
        _parent = Path.GetDirectoryName(destination)!;
        _name = Path.GetFileName(destination);
        _command = command;
        IBlobStore store = new Guarded(new LocalBlobStore(temp), this);
        Store = wrap is null ? store : wrap(store);
        _exchange = exchange;
    }

    /// <summary>The destination, absolute.</summary>
    public string Destination { get; }

    /// <summary>The hidden folder being written.</summary>
    public string TemporaryPath { get; }

    /// <summary>Where the files are written (the hidden folder); nothing can be made there once the output is abandoned.</summary>
    public IBlobStore Store { get; }

    /// <summary>
    /// Starts an output of <paramref name="command"/> ("export", "unshard") for
    /// <paramref name="destination"/>. Throws <see cref="OutputRefusedException"/> for a destination
    /// that is a file, a link or a folder this tool did not write. <paramref name="wrap"/> wraps the
    /// store the files are written through (tests inject faults there); <paramref name="exchange"/>
    /// false puts the output in place by two renames even where a swap is supported (for tests of that path).
    /// </summary>
    public static OutputFolder Begin(string destination, string command, Func<IBlobStore, IBlobStore>? wrap = null, bool exchange = true)
    {
        var (full, parent, name) = Resolve(destination, command);
        lock (Beginning)
        {
            if (s_interrupted) throw new OperationCanceledException($"{command} was interrupted before it began its output");
            Directory.CreateDirectory(parent);
            OutputDebris.Recover(parent, name);
            OutputMarker.CheckReplaceable(full, command);
            var replacing = RegularFile.Kind(full) != FileKind.Missing;
            string temp;
            do temp = Path.Combine(parent, OutputDebris.Name(name, OutputDebris.Partial, Environment.ProcessId, Random()));
            while (Directory.Exists(temp));
            try
            {
                Directory.CreateDirectory(temp);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // .NET's message names the hidden folder, which the user never asked for.
                throw new IOException($"cannot write '{full}': no folder can be made in '{parent}' ({Why(e)})", e);
            }
            try
            {
                AtomicRename.Sync(parent);
                var folder = new OutputFolder(full, temp, command, wrap, exchange, replacing);
                Unfinished.TryAdd(folder, 0);
                return folder;
            }
            catch
            {
                Directory.Delete(temp, recursive: true);
                throw;
            }
        }
    }

    /// <summary>Why a folder could not be made, without the folder's name.</summary>
    private static string Why(Exception e) => e switch
    {
        _ when StorageErrors.IsDiskFull(e) => "no space left on the device",
        UnauthorizedAccessException => "permission denied",
        _ when StorageErrors.IsReadOnly(e) => "a read-only file system",
        FileNotFoundException or DirectoryNotFoundException => "the file system takes no new folder there",
        _ => e.GetType().Name,
    };

    /// <summary>
    /// Refuses, as <see cref="Begin"/> would and without writing anything, a <paramref name="destination"/>
    /// that <paramref name="command"/> may not write: for a command to fail before it reads or reports anything.
    /// </summary>
    public static void Check(string destination, string command) => OutputMarker.CheckReplaceable(Resolve(destination, command).Full, command);

    /// <summary>
    /// Refuses a <paramref name="destination"/> in a folder of the local checkpoint root
    /// <paramref name="root"/> that its planner owns: a step's directory (or one named like a step:
    /// gc removes it as debris, and a save of that step would take its place), the memory tier's
    /// metadata or the quarantine. Any other folder in the root is the user's.
    /// </summary>
    public static void CheckNotPlannersFolder(string destination, string root, string command)
    {
        if (!BlobStores.IsDirectory(root)) return;
        // As written, and where links along either path lead: a link must not put the output in a step.
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(destination));
        var inside = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        if ((PlannersFolder(full, inside) ?? PlannersFolder(RealPath.Of(full), RealPath.Of(inside))) is { } first)
            throw new OutputRefusedException($"--out '{destination}' is in '{first}' of the checkpoint root '{root}', which its planner owns; {command} writes a folder of its own: choose one elsewhere");
    }

    /// <summary>The folder of <paramref name="root"/> its planner owns that <paramref name="full"/> lies in (both absolute), or null.</summary>
    private static string? PlannersFolder(string full, string root)
    {
        var inside = root + Path.DirectorySeparatorChar;
        if (!full.StartsWith(inside, StringComparison.Ordinal)) return null;
        var first = full[inside.Length..].Split(Path.DirectorySeparatorChar)[0];
        return CheckpointLayout.TryParseStepDirectory(first, out _) || first is CheckpointLayout.MemoryDirectory or CheckpointStore.QuarantineDirectory ? first : null;
    }

    /// <summary>The absolute destination, its parent folder and its name; refuses the root of the file system.</summary>
    private static (string Full, string Parent, string Name) Resolve(string destination, string command)
    {
        // Taken as a path, "s3://bucket/x" became a local folder named "s3:".
        if (ObjectRoot.Scheme(destination) is not null)
            throw new OutputRefusedException($"--out '{destination}' is a URI; {command} writes a local folder: give its path");
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(destination));
        var parent = Path.GetDirectoryName(full);
        var name = Path.GetFileName(full);
        if (parent is null || name.Length == 0)
            throw new OutputRefusedException($"--out '{destination}' is the root of the file system; {command} writes a folder of its own: choose one below it");
        return (full, parent, name);
    }

    /// <summary>
    /// Records that the output of <paramref name="step"/> holds exactly <paramref name="files"/>
    /// (relative, '/' separated), by writing the marker (fsynced). Once, before the files.
    /// </summary>
    public void Record(long step, IReadOnlyList<string> files)
    {
        if (_files is not null) throw new InvalidOperationException("the output's files are already recorded");
        _files = files.ToArray();
        var bytes = OutputMarker.Json(_command, step, _files);
        using var writer = Store.Create(OutputMarker.FileName);
        writer.Write(bytes, 0);
        writer.Flush();
    }

    /// <summary>
    /// Runs <paramref name="write"/> (the files, through <see cref="Store"/>), then <see cref="Commit"/>.
    /// A storage failure that stops either (a full disk, an I/O error) is thrown as one line naming
    /// the destination, never the hidden folder, and saying what is left there: a previous output as
    /// it was, or nothing. Other failures are thrown as they are.
    /// </summary>
    public void Complete(Action write)
    {
        try
        {
            write();
            Commit();
        }
        catch (Exception e) when (!_committed && StorageFailure(e) is { } cause)
        {
            var left = _replacing ? $"'{Destination}' is left as it was" : $"nothing was written to '{Destination}'";
            throw new IOException($"{_command} stopped: {cause.Message.Replace(TemporaryPath, Destination, StringComparison.Ordinal)}; {left}", cause);
        }
    }

    /// <summary>The storage failure in <paramref name="e"/> (the first of parallel writers' failures), or null.</summary>
    private static Exception? StorageFailure(Exception e)
    {
        var cause = e is AggregateException { InnerExceptions.Count: > 0 } all ? all.InnerExceptions[0] : e;
        return cause is IOException or UnauthorizedAccessException ? cause : null;
    }

    /// <summary>
    /// Puts the complete output in place (see the type's summary). Throws, leaving the destination
    /// as it was, when the folder does not hold exactly the recorded files or when the destination
    /// became something this tool may not replace while the output was written.
    /// </summary>
    public void Commit()
    {
        lock (_gate)
        {
            // Interrupted meanwhile (AbandonAll): the hidden folder is gone, nothing goes in place.
            if (!Unfinished.ContainsKey(this)) throw new OperationCanceledException($"{_command} was interrupted; its output was not put in place");
            CommitHeld();
        }
    }

    private void CommitHeld()
    {
        if (_files is null) throw new InvalidOperationException("Record the output's files before committing it");
        if (_committed) throw new InvalidOperationException("the output is already committed");
        // The hidden folder must hold exactly what the marker lists: what is put in place is what a later run may replace.
        OutputMarker.CheckReplaceable(TemporaryPath, _command);
        var missing = _files.FirstOrDefault(f => RegularFile.Kind(Path.Combine(TemporaryPath, f)) != FileKind.Regular);
        if (missing is not null) throw new ActorCkptException($"{_command} did not write '{missing}' into '{TemporaryPath}'; nothing was put in place");
        foreach (var folder in Directory.EnumerateDirectories(TemporaryPath, "*", SearchOption.AllDirectories).Append(TemporaryPath))
            AtomicRename.Sync(folder);

        // Checked again: a user may have put a file into the destination while the output was written.
        OutputMarker.CheckReplaceable(Destination, _command);
        if (RegularFile.Kind(Destination) == FileKind.Missing)
        {
            AtomicRename.NoReplace(TemporaryPath, Destination);
            AtomicRename.Sync(_parent);
            _committed = true;
            Interlocked.Increment(ref s_putInPlace);
            return;
        }
        string previous;
        if (_exchange && AtomicRename.TryExchange(TemporaryPath, Destination))
        {
            previous = TemporaryPath;
            AtomicRename.Sync(_parent);
        }
        else
        {
            previous = Path.Combine(_parent, OutputDebris.Name(_name, OutputDebris.Old, Environment.ProcessId, Random()));
            AtomicRename.NoReplace(Destination, previous);
            AtomicRename.Sync(_parent);
            try
            {
                AtomicRename.NoReplace(TemporaryPath, Destination);
            }
            catch
            {
                AtomicRename.NoReplace(previous, Destination);
                throw;
            }
            AtomicRename.Sync(_parent);
        }
        _committed = true;
        Interlocked.Increment(ref s_putInPlace);
        Remove(previous);
    }

    /// <summary>Removes the hidden folder unless the output was committed: a failed run leaves nothing behind.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            Unfinished.TryRemove(this, out _);
            if (!_committed) Remove(TemporaryPath);
        }
    }

    /// <summary>
    /// The process is being interrupted (SIGINT, SIGTERM) and will not reach <see cref="Dispose"/>:
    /// removes the hidden folder of every output not committed (one being put in place finishes
    /// first), as a failure would, and refuses every output begun after it. One call at a time: a
    /// second returns once the first is over. Returns how many outputs interrupts removed, and how
    /// many this process had put in place, so far.
    /// </summary>
    public static (int Abandoned, int PutInPlace) AbandonAll()
    {
        lock (Abandoning)
        {
            lock (Beginning) s_interrupted = true;
            foreach (var folder in Unfinished.Keys)
                lock (folder._gate)
                {
                    if (folder._committed || !Unfinished.TryRemove(folder, out _)) continue;
                    folder._abandoned = true;
                    // Files the writing thread opens meanwhile can keep the first removal from finishing.
                    for (var attempt = 0; attempt < 3 && Directory.Exists(folder.TemporaryPath); attempt++) folder.Remove(folder.TemporaryPath);
                    s_abandoned++;
                }
            return (s_abandoned, Volatile.Read(ref s_putInPlace));
        }
    }

    /// <summary>True once <see cref="AbandonAll"/> ran: the process is ending with the signal that interrupted it.</summary>
    public static bool Interrupted
    {
        get { lock (Beginning) return s_interrupted; }
    }

    /// <summary>For the specs that interrupt: outputs may begin again (a process that was interrupted ends instead).</summary>
    internal static void ForgetInterrupt()
    {
        lock (Beginning) s_interrupted = false;
    }

    /// <summary>
    /// The hidden folder's store: once the output is abandoned, nothing more is made in it. The writing
    /// threads run on until the process exits, and a file in a subfolder starts with CreateDirectory,
    /// which would make the removed hidden folder again (mkdir -p) and leave a file in it. Made under
    /// the folder's lock, so a removal waits for a file being made (whose later writes go to no name).
    /// </summary>
    private sealed class Guarded(IBlobStore inner, OutputFolder folder) : DelegatingBlobStore(inner)
    {
        public override IBlobWriter Create(string path) => folder.WhileWritten(() => base.Create(path));

        public override void CreateDirectory(string path) => folder.WhileWritten(() =>
        {
            base.CreateDirectory(path);
            return true;
        });
    }

    private T WhileWritten<T>(Func<T> make)
    {
        lock (_gate)
        {
            if (_abandoned) throw new OperationCanceledException($"{_command} was interrupted; its output is being removed");
            return make();
        }
    }

    /// <summary>Removes a folder of ours; a failure leaves it as debris for the next run, never fails the run.</summary>
    private void Remove(string path)
    {
        try
        {
            if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
            AtomicRename.Sync(_parent);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Hidden and named as debris: the next export or unshard into this destination removes it.
        }
    }

    private static string Random() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
}
