using System.Text.Json;

namespace ActorCkpt;

/// <summary>
/// What marks a folder as an output of this tool (an export or an unshard), and so as one that a
/// later export or unshard may replace: a regular file <see cref="FileName"/> at its top listing
/// every file the output holds, and nothing else in the folder (no file it does not list, no link,
/// FIFO or device). A folder a user added a file to (a <c>config.json</c> beside an export) is no
/// longer ours to replace: it is refused, and nothing in it is touched.
/// </summary>
internal static class OutputMarker
{
    /// <summary>The marker's name: hidden, so it stays out of the way of tools that read the output.</summary>
    public const string FileName = ".actorckpt-output.json";

    /// <summary>The value of the marker's <c>format</c> field.</summary>
    public const string Format = "actorckpt-output";

    /// <summary>The largest marker read (one line per file; a one-file-per-tensor unshard of 100,000 tensors is a few MB).</summary>
    public const long MaxBytes = 64L << 20;

    /// <summary>The marker of an output of <paramref name="command"/> from <paramref name="step"/> holding <paramref name="files"/> (relative, '/' separated).</summary>
    public static byte[] Json(string command, long step, IReadOnlyList<string> files)
    {
        using var json = new MemoryStream();
        using (var w = new Utf8JsonWriter(json, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("format", Format);
            w.WriteNumber("version", 1);
            w.WriteString("command", command);
            w.WriteNumber("step", step);
            w.WriteStartArray("files");
            foreach (var file in files) w.WriteStringValue(file);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return json.ToArray();
    }

    /// <summary>
    /// Throws <see cref="OutputRefusedException"/> unless <paramref name="path"/> (absolute) is
    /// missing, an empty folder, or a folder that is an output of this tool as defined above;
    /// <paramref name="command"/> names the command refused, for the message. Reads nothing but the marker.
    /// </summary>
    public static void CheckReplaceable(string path, string command)
    {
        var kind = RegularFile.Kind(path);
        switch (kind)
        {
            case FileKind.Missing:
                return;
            case FileKind.Regular:
                throw new OutputRefusedException($"--out '{path}' is a file; {command} writes a folder there: remove it or choose another --out");
            case FileKind.SymbolicLink:
                throw new OutputRefusedException($"--out '{path}' is a symbolic link (to '{new FileInfo(path).LinkTarget}'); {command} neither follows nor replaces links: give the folder itself");
            case not FileKind.Directory:
                throw new OutputRefusedException($"--out '{path}' is {NotARegularFileException.Describe(kind)}, not a folder");
        }
        var first = Directory.EnumerateFileSystemEntries(path).Select(Path.GetFileName).Order(StringComparer.Ordinal).FirstOrDefault();
        if (first is null) return;
        var marker = Path.Combine(path, FileName);
        if (RegularFile.Kind(marker) != FileKind.Regular)
            throw new OutputRefusedException($"--out '{path}' is a folder that actorckpt did not write (it holds '{first}' and no {FileName}): refusing to replace it; choose a new or empty folder");
        var listed = ReadFiles(path, marker);
        var folders = listed.SelectMany(ParentsOf).ToHashSet(StringComparer.Ordinal);
        var stranger = Stranger(path, "", listed, folders);
        if (stranger is not null)
            throw new OutputRefusedException($"--out '{path}' holds '{stranger}', which actorckpt did not write there: refusing to replace the folder; move it away or choose another --out");
    }

    /// <summary>The files the marker of the output at <paramref name="path"/> lists; refuses a marker that is not one this tool wrote.</summary>
    private static HashSet<string> ReadFiles(string path, string marker)
    {
        try
        {
            using var doc = JsonDocument.Parse(RegularFile.ReadAllBytes(marker, MaxBytes, "an output marker"));
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("format", out var format) || format.ValueKind != JsonValueKind.String || format.GetString() != Format)
                throw new FormatException($"no \"format\": \"{Format}\"");
            if (!root.TryGetProperty("files", out var files) || files.ValueKind != JsonValueKind.Array)
                throw new FormatException("no files array");
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var file in files.EnumerateArray())
                names.Add(file.ValueKind == JsonValueKind.String ? file.GetString()! : throw new FormatException("a file name that is not a string"));
            return names;
        }
        catch (Exception e) when (e is JsonException or FormatException or IOException or UnauthorizedAccessException)
        {
            throw new OutputRefusedException($"--out '{path}' has a {FileName} that actorckpt did not write ({CleanMessage(e)}): refusing to replace the folder");
        }
    }

    /// <summary>The first entry under <paramref name="dir"/> (relative path <paramref name="prefix"/>) that the marker does not account for, or null.</summary>
    private static string? Stranger(string dir, string prefix, HashSet<string> files, HashSet<string> folders)
    {
        foreach (var entry in Directory.EnumerateFileSystemEntries(dir).Order(StringComparer.Ordinal))
        {
            var name = prefix + Path.GetFileName(entry);
            var kind = RegularFile.Kind(entry);
            if (kind == FileKind.Regular && (files.Contains(name) || name == FileName)) continue;
            if (kind == FileKind.Directory && folders.Contains(name))
            {
                if (Stranger(entry, name + "/", files, folders) is { } inner) return inner;
                continue;
            }
            return name;
        }
        return null;
    }

    /// <summary>"a/b/c.safetensors" gives "a" and "a/b".</summary>
    private static IEnumerable<string> ParentsOf(string file)
    {
        for (var slash = file.IndexOf('/'); slash > 0; slash = file.IndexOf('/', slash + 1))
            yield return file[..slash];
    }

    private static string CleanMessage(Exception e) => string.Join(' ', e.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
