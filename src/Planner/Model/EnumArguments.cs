namespace ActorCkpt;

/// <summary>
/// Checks a public API's enum arguments: a cast integer that names no member (<c>(SaveTier)99</c>)
/// is refused at the call, in one line naming the accepted values, instead of failing later in
/// an actor or passing for a default.
/// </summary>
internal static class EnumArguments
{
    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> when <paramref name="value"/> is no member of <typeparamref name="T"/>.</summary>
    /// <param name="value">The argument.</param>
    /// <param name="parameter">The parameter's name.</param>
    /// <param name="what">What the value is, in the message ("strict handling").</param>
    /// <param name="accepted">The accepted values as users spell them.</param>
    public static T Check<T>(T value, string parameter, string what, IEnumerable<string> accepted) where T : struct, Enum =>
        Problem(value, what, accepted) is { } problem ? throw new ArgumentOutOfRangeException(parameter, problem) : value;

    /// <summary>Null when <paramref name="value"/> is a member of <typeparamref name="T"/>; otherwise the line <see cref="Check"/> throws with.</summary>
    public static string? Problem<T>(T value, string what, IEnumerable<string> accepted) where T : struct, Enum =>
        Enum.IsDefined(value) ? null : $"{what} {Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture)} is not one of {string.Join(", ", accepted)}";
}
