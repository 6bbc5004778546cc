namespace ActorCkpt;

/// <summary>
/// What a load does about keys that do not match, Megatron's dist_checkpointing set. Two kinds of
/// mismatch (named here from the loading state's side, as PyTorch's load_state_dict names them):
/// <list type="bullet">
/// <item><b>missing</b>: keys the loading state asks for that the checkpoint lacks (Megatron calls these "unexpected": they are in the sharded state dict and not in the checkpoint);</item>
/// <item><b>unexpected</b>: checkpoint keys the loading state does not name (Megatron's "missing").</item>
/// </list>
/// The *_unexpected modes act on the first kind only and ignore the second; the *_all modes act on both.
/// Dtype and shape mismatches are errors in every mode.
/// </summary>
public enum StrictHandling
{
    /// <summary>Keys the state asks for must be there (the load fails naming them); checkpoint extras are not looked at. The default.</summary>
    AssumeOkUnexpected,

    /// <summary>Keys the state asks for that are absent are logged and left untouched; checkpoint extras are ignored.</summary>
    LogUnexpected,

    /// <summary>Both kinds are logged; absent keys are left untouched.</summary>
    LogAll,

    /// <summary>Keys the state asks for that are absent fail the load before anything is read; checkpoint extras are ignored.</summary>
    RaiseUnexpected,

    /// <summary>Any mismatch fails the load before anything is read.</summary>
    RaiseAll,

    /// <summary>Absent keys are left untouched and returned in <c>LoadResult.MissingKeys</c>; checkpoint extras are ignored.</summary>
    ReturnUnexpected,

    /// <summary>Both kinds are returned in <c>LoadResult</c>; absent keys are left untouched.</summary>
    ReturnAll,

    /// <summary>Mismatches are ignored; absent keys are left untouched.</summary>
    IgnoreAll,
}

/// <summary>What a load does with one kind of mismatched key.</summary>
internal enum KeyAction
{
    /// <summary>Nothing.</summary>
    Ignore,

    /// <summary>Log a warning listing them.</summary>
    Log,

    /// <summary>Fail the load listing them.</summary>
    Raise,

    /// <summary>List them in the load's result.</summary>
    Return,
}

/// <summary>Names and meaning of <see cref="StrictHandling"/> modes.</summary>
internal static class Strictness
{
    private static readonly Dictionary<string, StrictHandling> ByName = new(StringComparer.Ordinal)
    {
        ["assume_ok_unexpected"] = StrictHandling.AssumeOkUnexpected,
        ["log_unexpected"] = StrictHandling.LogUnexpected,
        ["log_all"] = StrictHandling.LogAll,
        ["raise_unexpected"] = StrictHandling.RaiseUnexpected,
        ["raise_all"] = StrictHandling.RaiseAll,
        ["return_unexpected"] = StrictHandling.ReturnUnexpected,
        ["return_all"] = StrictHandling.ReturnAll,
        ["ignore_all"] = StrictHandling.IgnoreAll,
    };

    /// <summary>Every mode's name, as configuration spells it.</summary>
    public static IReadOnlyCollection<string> Names => ByName.Keys;

    /// <summary>The mode named <paramref name="name"/>; throws naming the accepted values otherwise.</summary>
    public static StrictHandling Parse(string name) =>
        ByName.TryGetValue(name, out var mode) ? mode
            : throw new ArgumentException($"unknown strictness '{name}': accepted values are {string.Join(", ", ByName.Keys)}", nameof(name));

    /// <summary>The configuration name of <paramref name="mode"/>.</summary>
    public static string Name(StrictHandling mode) => ByName.First(p => p.Value == mode).Key;

    /// <summary>What <paramref name="mode"/> does with keys the state asks for that the checkpoint lacks.</summary>
    public static KeyAction ForMissing(StrictHandling mode) => mode switch
    {
        StrictHandling.AssumeOkUnexpected or StrictHandling.RaiseUnexpected or StrictHandling.RaiseAll => KeyAction.Raise,
        StrictHandling.LogUnexpected or StrictHandling.LogAll => KeyAction.Log,
        StrictHandling.ReturnUnexpected or StrictHandling.ReturnAll => KeyAction.Return,
        _ => KeyAction.Ignore,
    };

    /// <summary>What <paramref name="mode"/> does with checkpoint keys the state does not name.</summary>
    public static KeyAction ForUnexpected(StrictHandling mode) => mode switch
    {
        StrictHandling.RaiseAll => KeyAction.Raise,
        StrictHandling.LogAll => KeyAction.Log,
        StrictHandling.ReturnAll => KeyAction.Return,
        _ => KeyAction.Ignore,
    };
}
