namespace ActorCkpt.Cli.Demo;

/// <summary>The node indices of <c>--kill-node</c> / <c>--kill-process</c>: "1" or "0,2", each below the node count, none twice.</summary>
internal static class NodeIndices
{
    /// <summary>The indices <paramref name="text"/> lists for <paramref name="flag"/>, or null and the one line that says what is wrong.</summary>
    public static (int[]? Indices, string? Problem) Parse(string flag, string text, int nodes)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var indices = new List<int>(parts.Length);
        foreach (var part in parts)
        {
            if (!int.TryParse(part, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var i))
                return (null, $"{flag} '{text}': '{part}' is not a node index (accepted: comma-separated indices from 0 to {nodes - 1})");
            if (i >= nodes)
                return (null, $"{flag} '{text}': node {i} is not one of the {nodes} nodes of --nodes {nodes} (accepted: 0 to {nodes - 1})");
            if (indices.Contains(i))
                return (null, $"{flag} '{text}' names node {i} twice");
            indices.Add(i);
        }
        return (indices.Order().ToArray(), null);
    }
}
