namespace ActorCkpt;

/// <summary>
/// A checkpoint root in an object store, parsed from its URI: <c>az://container/prefix</c> or
/// <c>s3://bucket/prefix</c>. Everything of the root lives under <see cref="Prefix"/> (empty, or
/// ending with '/'), so several roots can share a container.
/// </summary>
internal sealed record ObjectRoot(ObjectService Service, string Container, string Prefix)
{
    /// <summary>True when <paramref name="root"/> names an object store rather than a directory.</summary>
    public static bool IsObjectRoot(string root) =>
        root.StartsWith("az://", StringComparison.OrdinalIgnoreCase) || root.StartsWith("s3://", StringComparison.OrdinalIgnoreCase);

    /// <summary>The scheme of <paramref name="text"/>, lowercase, when it begins as a URI does ("s3" of <c>s3://b/x</c>); null for a path.</summary>
    public static string? Scheme(string text) =>
        System.Text.RegularExpressions.Regex.Match(text, "^([A-Za-z][A-Za-z0-9+.-]*)://") is { Success: true } match ? match.Groups[1].Value.ToLowerInvariant() : null;

    /// <summary>
    /// What is wrong with <paramref name="root"/> when it is a URI of another scheme (<c>file://</c>,
    /// <c>gs://</c>, <c>https://</c>): taken as a path it would become a directory named after the
    /// URI under the working directory. Null for a path, an <c>az://</c> or an <c>s3://</c> root.
    /// </summary>
    public static string? ForeignUri(string root)
    {
        if (Scheme(root) is not { } scheme || IsObjectRoot(root)) return null;
        return scheme == "file" && Uri.TryCreate(root, UriKind.Absolute, out var uri) && uri.IsFile
            ? $"'{root}' is a file:// URI: give a local root as its path, '{uri.LocalPath}'"
            : $"'{root}' names a {scheme}:// store, which ActorCkpt does not know: a root is a directory path, az://container/prefix or s3://bucket/prefix";
    }

    /// <summary>
    /// Parses <paramref name="root"/>; anything that is not a well-formed <c>az://</c> or <c>s3://</c>
    /// URI is one line naming what is wrong (<see cref="ActorCkptException"/>).
    /// </summary>
    public static ObjectRoot Parse(string root)
    {
        var scheme = root.Length >= 5 ? root[..5].ToLowerInvariant() : "";
        var service = scheme switch
        {
            "az://" => ObjectService.Azure,
            "s3://" => ObjectService.S3,
            _ => throw new ActorCkptException($"'{root}' is not an object-store root: expected az://container/prefix or s3://bucket/prefix"),
        };
        var rest = root[5..];
        // A SAS token or signed URL pasted with the URI would become part of every key, and be printed in every
        // line naming the root. A '?' is otherwise a legal character of a key: only one a name=value follows is a query.
        if (rest.IndexOf('?') is var query and >= 0 && rest.IndexOf('=', query) > query)
            throw new ActorCkptException($"'{root[..(5 + query)]}…': an object-store root takes no query ('?…'); credentials go in actorckpt.object-store or the environment (docs/object-storage.md)");
        var slash = rest.IndexOf('/');
        var container = slash < 0 ? rest : rest[..slash];
        var prefix = slash < 0 ? "" : rest[(slash + 1)..].Trim('/');
        if (!IsContainerName(service, container))
            throw new ActorCkptException(service == ObjectService.Azure
                ? $"'{root}': '{container}' is not an Azure container name (3-63 characters: lowercase letters, digits and single hyphens, starting with a letter or digit)"
                : $"'{root}': '{container}' is not an S3 bucket name (3-63 characters: lowercase letters, digits, single dots and hyphens, starting and ending with a letter or digit, not shaped as an IP address)");
        foreach (var segment in prefix.Length == 0 ? [] : prefix.Split('/'))
        {
            if (segment.Length == 0 || segment is "." or ".." || segment.Any(c => char.IsControl(c) || c == '\\'))
                throw new ActorCkptException($"'{root}': the prefix '{prefix}' has an empty, '.', '..' or unprintable segment");
        }
        return new ObjectRoot(service, container, prefix.Length == 0 ? "" : prefix + "/");
    }

    /// <summary>The key of <paramref name="path"/> (relative, '/'-separated) under this root.</summary>
    public string Key(string path) => Prefix + path;

    /// <summary>The canonical URI: scheme, container, prefix without its trailing '/'.</summary>
    public override string ToString() => $"{(Service == ObjectService.Azure ? "az" : "s3")}://{Container}{(Prefix.Length == 0 ? "" : "/" + Prefix.TrimEnd('/'))}";

    private static bool IsContainerName(ObjectService service, string name)
    {
        if (name.Length is < 3 or > 63 || !char.IsAsciiLetterOrDigit(name[0]) || !char.IsAsciiLetterOrDigit(name[^1])) return false;
        if (name.Any(c => !(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-' || (service == ObjectService.S3 && c == '.')))) return false;
        if (service == ObjectService.Azure) return !name.Contains("--", StringComparison.Ordinal);
        // S3 refuses adjacent dots and names shaped as an IPv4 address (virtual-host addressing could not reach them).
        return !name.Contains("..", StringComparison.Ordinal) && !System.Text.RegularExpressions.Regex.IsMatch(name, @"^\d+\.\d+\.\d+\.\d+$");
    }
}
