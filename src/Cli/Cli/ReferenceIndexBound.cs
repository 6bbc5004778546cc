using System.Text.Json;

namespace ActorCkpt.Cli;

/// <summary>
/// The checks on an <c>--index-from</c> reference before an export follows it: the export writes
/// one file per file the reference counts, so a hostile index ("model-00001-of-99999.safetensors",
/// or a document of gigabytes) must be refused before anything is written. A real index names
/// every one of its files, so the count is bounded by the names it holds, and by
/// <see cref="MaxFiles"/>.
/// </summary>
internal static class ReferenceIndexBound
{
    /// <summary>The most files an export following a reference writes (a 10 TB model in 5 GB files is 2,000).</summary>
    public const int MaxFiles = 10_000;

    /// <summary>The largest reference index read (a real one is a few MB: one line per tensor).</summary>
    public const long MaxBytes = 64L << 20;

    /// <summary>Throws naming <paramref name="path"/> and what is wrong unless it is an index an export may follow.</summary>
    public static void Check(string path)
    {
        try
        {
            CheckDocument(path);
        }
        catch (InvalidOperationException e) when (e.Message.Contains("UTF-8", StringComparison.Ordinal))
        {
            // System.Text.Json reads a name or string of invalid UTF-8 only when asked for it.
            throw Refused(path, "is not valid UTF-8 JSON: a name or value holds bytes that are not UTF-8");
        }
    }

    private static void CheckDocument(string path)
    {
        var file = new FileInfo(path);
        // A FIFO or device reports length 0: refused without opening it, which could block forever.
        if (file.Length == 0) throw Refused(path, "is empty or not a regular file");
        if (file.Length > MaxBytes) throw Refused(path, $"is {file.Length} bytes (accepted: up to {MaxBytes})");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw Refused(path, "is not valid JSON: " + e.Message);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Refused(path, "is not a JSON object");
            RequireUnique(path, doc.RootElement, "the index");
            if (!doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw Refused(path, "has no weight_map object");
            RequireUnique(path, map, "weight_map");
            var numbers = new HashSet<int>();
            int? count = null;
            foreach (var entry in map.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.String)
                    throw Refused(path, $"puts '{Clip(entry.Name)}' in a JSON {entry.Value.ValueKind.ToString().ToLowerInvariant()}, not a file name (model-0000i-of-0000N.safetensors)");
                var name = entry.Value.GetString()!;
                int number, of;
                try
                {
                    (number, of) = ExportLayout.ParseFileName(name);
                }
                catch (ArgumentException)
                {
                    throw Refused(path, $"puts '{Clip(entry.Name)}' in '{Clip(name)}', not a Hugging Face file name (model-0000i-of-0000N.safetensors)");
                }
                if (of > MaxFiles) throw Refused(path, $"names {of} files (accepted: up to {MaxFiles})");
                if (count is { } c && c != of) throw Refused(path, $"names files of {c} and of {of}");
                count = of;
                numbers.Add(number);
            }
            if (count is { } total && numbers.Count != total)
                throw Refused(path, $"names {total} files but holds tensors for only {numbers.Count} of them");
        }
    }

    private static void RequireUnique(string path, JsonElement obj, string where)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in obj.EnumerateObject())
            if (!seen.Add(p.Name)) throw Refused(path, $"has '{Clip(p.Name)}' twice in {where}");
    }

    /// <summary>A name from the file as one line can show it: cut at 80, control characters as \uXXXX (a NUL or a newline printed raw hides or breaks the line).</summary>
    private static string Clip(string text) =>
        string.Concat((text.Length <= 80 ? text : text[..80] + "...").Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));

    private static ArgumentException Refused(string path, string why) => new($"--index-from '{path}' {why}");
}
