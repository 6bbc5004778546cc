using Akka.Configuration;

namespace ActorCkpt;

/// <summary>
/// HOCON a user wrote (a <c>--config</c> file, a <c>HoconFile</c>, a <c>Hocon</c> option), read and
/// parsed through one door: bounded, regular files only, every bracket checked and every hazard of
/// Akka's parser (<see cref="HoconHazards"/>) refused before that parser sees the text. It never
/// returns on some texts (<c>a = [1, f = ]</c>, fuzz/regressions/settings), overflows its stack on
/// others, and silently closes a section left open at the end.
/// </summary>
internal static class UserHocon
{
    /// <summary>The largest configuration file read; a larger one is refused before it is read.</summary>
    public const long MaxFileBytes = 16L << 20;

    /// <summary>
    /// The text of the configuration file <paramref name="path"/>, once it parses (<see cref="Parse"/>);
    /// errors name it as <c><paramref name="owner"/> 'path'</c>. The text, not the parsed config, is
    /// returned: callers lay it among other HOCON, where an error would no longer name the file.
    /// </summary>
    public static string ReadFile(string path, string owner)
    {
        // Followed to its end first: a link to nothing is named as such, and a directory is not 'missing'.
        var full = Path.GetFullPath(path);
        var target = RegularFile.Kind(full) == FileKind.SymbolicLink ? RegularFile.Followed(path) : full;
        switch (RegularFile.Kind(target))
        {
            case FileKind.Missing:
                throw new FileNotFoundException(target == full
                    ? $"{owner} '{path}' does not exist"
                    : $"{owner} '{path}' is a link to '{target}', which does not exist", path);
            case FileKind.Directory:
                throw new IOException($"{owner} '{path}' is a directory, not a file");
        }
        var text = RegularFile.ReadAllText(target, MaxFileBytes, "a configuration file");
        Parse(text, $"{owner} '{path}'");
        return text;
    }

    /// <summary>
    /// <paramref name="hocon"/> parsed (empty when blank); throws <see cref="ConfigurationException"/>
    /// naming <paramref name="owner"/> for a bracket left open or closed wrongly, or any other text
    /// Akka's parser refuses.
    /// </summary>
    public static Config Parse(string? hocon, string owner)
    {
        if (string.IsNullOrWhiteSpace(hocon)) return Config.Empty;
        HoconBrackets.Check(hocon, owner);
        HoconHazards.Check(hocon, owner);
        try
        {
            return ConfigurationFactory.ParseString(hocon);
        }
        catch (Exception e)
        {
            throw new ConfigurationException($"{owner} does not parse as HOCON: {e.Message.ReplaceLineEndings(" ")}", e);
        }
    }
}
