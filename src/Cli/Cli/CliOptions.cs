using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace ActorCkpt.Cli;

/// <summary>
/// Options whose values are checked while parsing: numbers against a range, sizes with units,
/// names against a list, files that must exist. A bad value is a usage error (exit 2) on one line
/// naming the option, the value and what is accepted, before any command runs or touches a disk.
/// </summary>
internal static class CliOptions
{
    /// <summary>An integer option accepting <paramref name="min"/> to <paramref name="max"/>.</summary>
    public static Option<int> Int(string name, string description, int defaultValue, int min, int max) =>
        new(name)
        {
            Description = $"{description} ({min} to {max})",
            DefaultValueFactory = _ => defaultValue,
            CustomParser = r => (int)Whole(r, name, min, max),
        };

    /// <summary>
    /// An integer option whose range depends on another option (<paramref name="range"/> says how,
    /// e.g. "1 to --nodes"): parsed here, judged by the command's validator, which knows both.
    /// </summary>
    public static Option<int> IntRangedByCommand(string name, string description, int defaultValue, string range) =>
        new(name)
        {
            Description = $"{description} ({range})",
            DefaultValueFactory = _ => defaultValue,
            CustomParser = r =>
            {
                var text = r.Tokens[0].Value;
                if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)) return value;
                r.AddError($"{name} '{text}' is not a whole number (accepted: {range})");
                return 0;
            },
        };

    /// <summary>A 64-bit integer option accepting <paramref name="min"/> to <paramref name="max"/>.</summary>
    public static Option<long> Long(string name, string description, long defaultValue, long min, long max) =>
        new(name)
        {
            Description = $"{description} ({min} to {max})",
            DefaultValueFactory = _ => defaultValue,
            CustomParser = r => Whole(r, name, min, max),
        };

    /// <summary>An optional integer option (null when absent) accepting <paramref name="min"/> to <paramref name="max"/>.</summary>
    public static Option<int?> OptionalInt(string name, string description, int min, int max) =>
        new(name) { Description = description, CustomParser = r => (int)Whole(r, name, min, max) };

    /// <summary>An optional step option (null when absent): a step number from 0.</summary>
    public static Option<long?> OptionalStep(string name, string description) =>
        new(name) { Description = description, CustomParser = r => Whole(r, name, 0, long.MaxValue) };

    /// <summary>
    /// A size option (bytes, or 5GB, 500MB, 2GiB ...: see <see cref="Sizes.Parse"/>) accepting
    /// <paramref name="min"/> to <paramref name="max"/> bytes; the default is given as text, as
    /// the help shows it.
    /// </summary>
    public static Option<long> Size(string name, string description, string defaultValue, long min, long max) =>
        new(name)
        {
            Description = $"{description} ({Sizes.Format(min)} to {Sizes.Format(max)})",
            DefaultValueFactory = _ => Sizes.Parse(defaultValue) ?? throw new ArgumentException(defaultValue),
            CustomParser = r =>
            {
                var text = r.Tokens[0].Value;
                var bytes = Sizes.Parse(text);
                if (bytes is null && !IsNumber(text))
                    r.AddError($"{name} '{text}' is not a size (e.g. 5GB, 500MB, 2GiB or a number of bytes; accepted: {Sizes.Format(min)} to {Sizes.Format(max)})");
                else if (bytes is null || bytes < min || bytes > max)
                    r.AddError($"{name} '{text}' is out of range (accepted: {Sizes.Format(min)} to {Sizes.Format(max)})");
                return bytes ?? 0;
            },
        };

    /// <summary>A string option accepting only <paramref name="accepted"/>; a bad value names the nearest accepted one.</summary>
    public static Option<string> OneOf(string name, string description, string defaultValue, params string[] accepted)
    {
        // Not AcceptOnlyFromAmong: its own error (several lines) would come beside this one.
        var option = new Option<string>(name) { Description = description, DefaultValueFactory = _ => defaultValue, HelpName = string.Join('|', accepted) };
        option.Validators.Add(r => CheckOneOf(r, name, accepted));
        return option;
    }

    /// <summary>A required string option accepting only <paramref name="accepted"/>.</summary>
    public static Option<string> RequiredOneOf(string name, string description, params string[] accepted)
    {
        var option = new Option<string>(name) { Description = description, Required = true, HelpName = string.Join('|', accepted) };
        option.Validators.Add(r => CheckOneOf(r, name, accepted));
        return option;
    }

    /// <summary>
    /// Reads the option as a checkpoint root in the one form the tool names it by from then on: an
    /// object-store root as it resolves (<c>s3://b//run-1/</c> is <c>s3://b/run-1</c>), a directory as given.
    /// </summary>
    public static Option<string> AsRoot(this Option<string> option)
    {
        option.CustomParser = r => r.Tokens.Count == 0 ? null : RootForm(r.Tokens[0].Value);
        return option;
    }

    /// <inheritdoc cref="AsRoot(Option{string})"/>
    public static Argument<string> AsRoot(this Argument<string> argument)
    {
        argument.CustomParser = r => r.Tokens.Count == 0 ? null : RootForm(r.Tokens[0].Value);
        return argument;
    }

    /// <summary>An object-store root's resolved form; anything else (a directory, a malformed URI, refused later naming it) as given.</summary>
    private static string RootForm(string root)
    {
        if (!ObjectRoot.IsObjectRoot(root)) return root;
        try
        {
            return ObjectRoot.Parse(root).ToString();
        }
        catch (ActorCkptException)
        {
            return root;
        }
    }

    /// <summary>Adds a check that the path the option names is not empty (an empty path would be taken for the working directory, or named by a setting's key).</summary>
    public static Option<string> NotEmpty(this Option<string> option)
    {
        option.Validators.Add(r =>
        {
            if (r.Tokens.Count > 0 && string.IsNullOrWhiteSpace(r.Tokens[0].Value)) r.AddError($"{option.Name} is empty: give a path");
        });
        return option;
    }

    /// <summary>
    /// Adds a check that the file the option names exists and is (or links to) a regular file: it is
    /// read before anything is written, and a FIFO would be waited on.
    /// </summary>
    public static T ExistingFile<T>(this T option) where T : Option
    {
        option.Validators.Add(r =>
        {
            foreach (var token in r.Tokens)
            {
                if (!File.Exists(token.Value))
                    r.AddError($"{option.Name} '{token.Value}' does not exist or is not a file");
                // File.Exists says yes to a link whose target is missing: a usage error as well.
                else if (Kind(token.Value) is var kind && kind == FileKind.Missing)
                    r.AddError($"{option.Name} '{token.Value}' is a link to a file that does not exist");
                else if (kind != FileKind.Regular)
                    r.AddError($"{option.Name} '{token.Value}' is {NotARegularFileException.Describe(kind)}, not a regular file");
            }
        });
        return option;
    }

    // What the path leads to (a link of the user's own is followed; a loop of links reads as missing, and File.Exists said no to it).
    private static FileKind Kind(string path)
    {
        try
        {
            return RegularFile.Kind(RegularFile.Followed(path));
        }
        catch (IOException)
        {
            return FileKind.Missing;
        }
    }

    /// <summary>A size given as a number that is no size (0, negative) is out of range, not malformed.</summary>
    private static bool IsNumber(string text) => long.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out _);

    private static void CheckOneOf(OptionResult r, string name, string[] accepted)
    {
        foreach (var token in r.Tokens)
            if (!accepted.Contains(token.Value, StringComparer.Ordinal))
                r.AddError($"{name} '{token.Value}' is not accepted; did you mean '{Nearest.Of(token.Value, accepted)}'? (one of: {string.Join(", ", accepted)})");
    }

    private static long Whole(ArgumentResult r, string name, long min, long max)
    {
        var text = r.Tokens[0].Value;
        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            r.AddError($"{name} '{text}' is not a whole number (accepted: {min} to {max})");
            return 0;
        }
        if (value < min || value > max)
        {
            r.AddError($"{name} '{text}' is out of range (accepted: {min} to {max})");
            return 0;
        }
        return value;
    }
}
