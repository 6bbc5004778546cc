using System.CommandLine;
using System.CommandLine.Parsing;

namespace ActorCkpt.Cli;

/// <summary>
/// The one line a parse error prints instead of the help: the first thing wrong, named, with the
/// nearest valid flag or command. Unknown words come first, as they usually cause the rest (a
/// mistyped required option also leaves it missing).
/// </summary>
internal static class UsageError
{
    /// <summary>The line for a parse that has errors (without the "actorckpt: " prefix).</summary>
    public static string Describe(ParseResult parse)
    {
        var command = parse.CommandResult.Command;
        if (parse.UnmatchedTokens.Count > 0) return Unmatched(parse.UnmatchedTokens[0], command);

        // A value the options' own checks refused (range, size, list, file): their message names it.
        var own = parse.Errors.FirstOrDefault(e => e.SymbolResult is OptionResult { Tokens.Count: > 0 } or ArgumentResult { Tokens.Count: > 0 });
        if (own is not null) return OneLine(own.Message);

        foreach (var option in command.Options)
        {
            var result = parse.GetResult(option);
            if (option.Required && result is not { Implicit: false }) return $"{Path(command)} needs {option.Name}";
            if (result is { Implicit: false, Tokens.Count: 0 } && option.Arity.MinimumNumberOfValues > 0)
                return $"{option.Name} needs a value";
        }
        if (command is RootCommand || (command.Subcommands.Count > 0 && command.Action is null))
            return $"{Path(command)} needs a command (one of: {string.Join(", ", command.Subcommands.Select(c => c.Name))}; see {(command is RootCommand ? "" : "actorckpt ")}{Path(command)} --help)";
        foreach (var argument in command.Arguments)
            if (parse.GetResult(argument) is not { Tokens.Count: > 0 } && argument.Arity.MinimumNumberOfValues > 0)
                return $"{Path(command)} needs {argument.Name} (usage: {Path(command)} {argument.Name} ...)";
        return OneLine(parse.Errors[0].Message);
    }

    /// <summary>
    /// The line for a single-valued flag given more than once, or null. Checked on every parse: the
    /// parser refuses a repeated flag with a value in words that count "arguments", and accepts a
    /// repeated switch (<c>--resume --resume</c>) as if given once.
    /// </summary>
    public static string? Repeated(ParseResult parse)
    {
        var command = parse.CommandResult.Command;
        var options = Parents(command).SelectMany(c => c.Options.Where(o => c == command || o.Recursive));
        foreach (var option in options)
        {
            if (option.Arity.MaximumNumberOfValues > 1 || parse.GetResult(option) is not { Implicit: false } result) continue;
            var names = option.Aliases.Prepend(option.Name).ToHashSet(StringComparer.Ordinal);
            var times = parse.Tokens.Count(t => t.Type == TokenType.Option && names.Contains(t.Value));
            if (times < 2) continue;
            var values = result.Tokens.Count == 0 ? "" : $" ({string.Join(", ", result.Tokens.Select(t => $"'{t.Value}'"))})";
            return $"{option.Name} given {times} times{values}; give it once";
        }
        return null;
    }

    private static string Unmatched(string token, Command command)
    {
        if (token.StartsWith('-'))
        {
            // A command's option given before any command: name the command that takes it.
            if (command is RootCommand && command.Subcommands.FirstOrDefault(c => c.Options.Any(o => o.Name == token || o.Aliases.Contains(token))) is { } owner)
                return $"unknown option '{token}' before a command; did you mean 'actorckpt {owner.Name} {token}'?";
            var flags = command.Options.Where(o => !o.Hidden).SelectMany(o => o.Aliases.Prepend(o.Name)).Where(n => n.StartsWith("--", StringComparison.Ordinal));
            return $"unknown option '{token}'; did you mean '{Nearest.Of(token, flags)}'?";
        }
        var commands = command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name).ToList();
        // A group of commands ('catalog') takes no argument of its own: what follows it is one of its commands, mistyped.
        return commands.Count == 0 || (command is not RootCommand && command.Arguments.Count > 0) ? $"unexpected argument '{token}' for '{Path(command)}'"
            : command is RootCommand ? $"unknown command '{token}'; did you mean '{Nearest.Of(token, commands)}'?"
            : $"unknown command '{token}' for '{Path(command)}'; did you mean '{Path(command)} {Nearest.Of(token, commands)}'?";
    }

    /// <summary>The command as typed after "actorckpt": "catalog rebuild", not "rebuild".</summary>
    private static string Path(Command command) =>
        command is RootCommand ? "actorckpt" : string.Join(' ', Parents(command).Reverse().Where(c => c is not RootCommand).Select(c => c.Name));

    private static IEnumerable<Command> Parents(Command command)
    {
        for (Symbol? s = command; s is Command c; s = c.Parents.FirstOrDefault()) yield return c;
    }

    private static string OneLine(string message) => string.Join(' ', message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
