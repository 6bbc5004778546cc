using System.Text.RegularExpressions;

namespace ActorCkpt.Readme.Tests;

/// <summary>
/// A fenced C# block of the README. The words after <c>```csharp</c> say how it is compiled:
/// none, a class file of a project of its own, beside a trivial Program.cs; <c>project=NAME</c>,
/// with the other blocks of that project; <c>file=NAME.cs</c>, under that name (<c>Program.cs</c>: a
/// program with top-level statements, so no trivial one is added); <c>fragment</c>, deliberately
/// incomplete, not compiled. The first block is always the Program.cs of a project of its own.
/// </summary>
internal sealed record ReadmeBlock(int Index, int Line, string Project, string FileName, bool Fragment, string Code)
{
    /// <summary>The project of the first block: built and run.</summary>
    public const string FirstProject = "first";

    private static readonly Regex Fence = new(@"^```\s*(csharp|cs|c#)\b(.*)$", RegexOptions.IgnoreCase);

    /// <summary>Every C# block of <paramref name="markdown"/>, in order.</summary>
    public static IReadOnlyList<ReadmeBlock> Parse(string markdown)
    {
        var lines = markdown.Replace("\r\n", "\n").Split('\n');
        var blocks = new List<ReadmeBlock>();
        for (var i = 0; i < lines.Length; i++)
        {
            var open = Fence.Match(lines[i].TrimEnd());
            if (!open.Success) continue;
            var words = open.Groups[2].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var end = i + 1;
            while (end < lines.Length && !lines[end].TrimStart().StartsWith("```", StringComparison.Ordinal)) end++;
            if (end == lines.Length) throw new FormatException($"README.md line {i + 1}: the ```csharp block is never closed");
            var index = blocks.Count + 1;
            var code = string.Join('\n', lines[(i + 1)..end]) + "\n";
            blocks.Add(index == 1
                ? new ReadmeBlock(index, i + 1, FirstProject, "Program.cs", Fragment: false, code)
                : new ReadmeBlock(index, i + 1, Word(words, "project") ?? $"block{index}", Word(words, "file") ?? $"Block{index}.cs",
                    words.Contains("fragment"), code));
            i = end;
        }
        return blocks;
    }

    private static string? Word(string[] words, string name) =>
        words.Where(w => w.StartsWith(name + "=", StringComparison.Ordinal)).Select(w => w[(name.Length + 1)..]).FirstOrDefault();
}
