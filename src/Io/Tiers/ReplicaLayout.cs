using System.Globalization;
using System.IO.Hashing;
using System.Text;

namespace ActorCkpt;

/// <summary>
/// Names in a tmpfs replica store (pure, no I/O):
/// <c>&lt;directory&gt;/&lt;namespace&gt;/&lt;host&gt;/step-00000012/r00003-000-1a2b3c4d.safetensors.replica</c>,
/// and while one is written <c>.r00003-000-1a2b3c4d.safetensors.replica.&lt;pid&gt;-&lt;nonce&gt;.tmp</c> beside it.
/// Every node derives the namespace from the checkpoint root without I/O, so two jobs on one machine
/// never mix their replicas.
/// </summary>
internal static class ReplicaLayout
{
    /// <summary>What a published replica's name ends with.</summary>
    public const string ReplicaSuffix = ".replica";

    /// <summary>What a replica being written ends with.</summary>
    public const string TempSuffix = ".tmp";

    /// <summary>
    /// The directory, beside the step directories, of the host's spare files: evicted replicas kept
    /// a while so that the next replicas written on the host overwrite their memory pages
    /// instead of taking fresh ones (<see cref="ReplicaStore.Recycle"/>).
    /// </summary>
    public const string SpareDirectory = "spare";

    /// <summary>What a spare file's name ends with.</summary>
    public const string SpareSuffix = ".spare";

    /// <summary>The longest host id.</summary>
    public const int MaxHostLength = 64;

    /// <summary>
    /// The namespace of the checkpoint root at <paramref name="rootFullPath"/>: 16 lowercase hex digits
    /// of the xxHash3-64 of its UTF-8 path.
    /// </summary>
    public static string Namespace(string rootFullPath)
    {
        if (!Path.IsPathFullyQualified(rootFullPath))
            throw new ArgumentException($"'{rootFullPath}' is not an absolute path", nameof(rootFullPath));
        return BlockChecksums.ToHex(XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(rootFullPath)));
    }

    /// <summary>True for a namespace as <see cref="Namespace"/> makes them.</summary>
    public static bool IsNamespace(string name) =>
        name.Length == 16 && name.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');

    /// <summary>
    /// Why <paramref name="id"/> is not a host id ([A-Za-z0-9._-], 1 to 64 characters, not "." or ".."), or null
    /// when it is one: it names a directory, so it must stay one plain name.
    /// </summary>
    public static string? HostProblem(string id)
    {
        if (id.Length is 0 or > MaxHostLength) return $"host id '{id}' must be 1 to {MaxHostLength} characters long; it has {id.Length}";
        if (id is "." or "..") return $"host id '{id}' is not allowed: it names a directory of the path itself";
        var bad = id.FirstOrDefault(c => !(c is >= 'A' and <= 'Z' or >= 'a' and <= 'z' or >= '0' and <= '9' or '.' or '_' or '-'));
        return bad == default ? null : $"host id '{id}' holds '{bad}': only letters, digits, '.', '_' and '-' are allowed";
    }

    /// <summary><paramref name="id"/> when it is a host id; otherwise throws <see cref="ArgumentException"/> naming what is wrong.</summary>
    public static string Host(string id) => HostProblem(id) is { } problem ? throw new ArgumentException(problem, nameof(id)) : id;

    /// <summary>The published replica of data file <paramref name="dataFile"/>: "&lt;dataFile&gt;.replica".</summary>
    public static string ReplicaName(string dataFile) => CheckDataFile(dataFile) + ReplicaSuffix;

    /// <summary>
    /// The temporary name of <paramref name="dataFile"/>'s replica while process <paramref name="pid"/>
    /// writes it: hidden, and carrying the pid so that debris of a dead writer can be told from a live write.
    /// </summary>
    public static string TempName(string dataFile, int pid, string nonce)
    {
        if (pid <= 0) throw new ArgumentOutOfRangeException(nameof(pid), pid, "must be positive");
        if (nonce.Length == 0 || !nonce.All(char.IsAsciiLetterOrDigit))
            throw new ArgumentException($"nonce '{nonce}' must be letters and digits", nameof(nonce));
        return "." + ReplicaName(dataFile) + "." + pid.ToString(CultureInfo.InvariantCulture) + "-" + nonce + TempSuffix;
    }

    /// <summary>
    /// Parses a name in a step directory: a replica (<paramref name="tempPid"/> null) or a temporary
    /// one (<paramref name="tempPid"/> its writer's pid); false for anything else.
    /// </summary>
    public static bool TryParse(string name, out string dataFile, out int? tempPid)
    {
        dataFile = "";
        tempPid = null;
        if (name.StartsWith('.'))
        {
            // ".<data>.replica.<pid>-<nonce>.tmp"
            if (!name.EndsWith(TempSuffix, StringComparison.Ordinal)) return false;
            var inner = name[1..^TempSuffix.Length];
            var dot = inner.LastIndexOf('.');
            if (dot < 0) return false;
            var tail = inner[(dot + 1)..];
            var dash = tail.IndexOf('-');
            if (dash <= 0 || dash == tail.Length - 1 || !tail[(dash + 1)..].All(char.IsAsciiLetterOrDigit)
                || !int.TryParse(tail.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid <= 0)
                return false;
            if (!TryParseReplica(inner[..dot], out dataFile)) return false;
            tempPid = pid;
            return true;
        }
        return TryParseReplica(name, out dataFile);
    }

    /// <summary>The name of a spare file: "&lt;nonce&gt;.spare", the nonce letters and digits.</summary>
    public static string SpareName(string nonce) =>
        nonce.Length > 0 && nonce.All(char.IsAsciiLetterOrDigit) ? nonce + SpareSuffix
            : throw new ArgumentException($"nonce '{nonce}' must be letters and digits", nameof(nonce));

    /// <summary>True for a name <see cref="SpareName"/> makes.</summary>
    public static bool IsSpareName(string name) =>
        name.Length > SpareSuffix.Length && name.EndsWith(SpareSuffix, StringComparison.Ordinal) && name[..^SpareSuffix.Length].All(char.IsAsciiLetterOrDigit);

    /// <summary>The directory of step <paramref name="step"/> inside a host's directory (as on disk: "step-00000012").</summary>
    public static string StepDirectory(long step) => CheckpointLayout.StepDirectory(step);

    /// <summary>Parses "&lt;dataFile&gt;.replica"; false for anything else.</summary>
    private static bool TryParseReplica(string name, out string dataFile)
    {
        dataFile = name.EndsWith(ReplicaSuffix, StringComparison.Ordinal) ? name[..^ReplicaSuffix.Length] : "";
        return IsDataFile(dataFile);
    }

    /// <summary>A data file name a replica may carry: plain, and not hidden, so that it never reads as a temporary name.</summary>
    private static bool IsDataFile(string name) => MetadataValidator.IsPlainFileName(name) && !name.StartsWith('.');

    /// <summary><paramref name="dataFile"/> when a replica may carry it; otherwise throws naming it.</summary>
    private static string CheckDataFile(string dataFile) =>
        IsDataFile(dataFile) ? dataFile : throw new ArgumentException($"data file name '{dataFile}' is not a plain, visible file name", nameof(dataFile));
}
