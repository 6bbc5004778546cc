namespace ActorCkpt.Fuzz;

/// <summary>
/// One parser fed untrusted bytes. <see cref="Run"/> returns whether the input was accepted or
/// refused with one of the parser's documented "bad input" exceptions; any other exception (an
/// IndexOutOfRange, an Overflow, a NullReference, ...) escapes it and is a crash. Inputs are bounded
/// (<see cref="MaxInputBytes"/>) so that a slow input is a real hang, not a big file.
/// </summary>
internal abstract class FuzzTarget
{
    /// <summary>Inputs longer than this are ignored: afl-fuzz keeps inputs far smaller anyway.</summary>
    public const int MaxInputBytes = 1 << 20;

    /// <summary>The name on the command line and of the corpus folder (fuzz/corpus/NAME).</summary>
    public abstract string Name { get; }

    /// <summary>Feeds <paramref name="input"/> to the parser: true accepted, false refused as documented; throws on a crash.</summary>
    public bool Run(ReadOnlySpan<byte> input)
    {
        if (input.Length > MaxInputBytes) return false;
        try
        {
            Feed(input);
            return true;
        }
        catch (Exception e) when (IsBadInput(e))
        {
            return false;
        }
    }

    /// <summary>Parses <paramref name="input"/> and checks what holds of whatever it accepted; throws on refusal or crash.</summary>
    protected abstract void Feed(ReadOnlySpan<byte> input);

    /// <summary>Whether <paramref name="e"/> is how the parser documents refusing bad input: by default any <see cref="ActorCkptException"/>.</summary>
    protected virtual bool IsBadInput(Exception e) => e is ActorCkptException;

    /// <summary>Every target, by name.</summary>
    public static IReadOnlyDictionary<string, FuzzTarget> All { get; } = new FuzzTarget[]
    {
        new MetadataTarget(), new MetadataBinaryTarget(), new SafetensorsHeaderTarget(), new HuggingFaceIndexTarget(), new SettingsTarget(),
        new ReplicaTarget(),
    }.ToDictionary(t => t.Name, StringComparer.Ordinal);
}
