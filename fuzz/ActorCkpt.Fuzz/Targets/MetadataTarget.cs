using System.Numerics;

namespace ActorCkpt.Fuzz;

/// <summary>
/// A step's <c>metadata.json</c>: <see cref="MetadataJson.Deserialize"/> (the one-pass reader and
/// <see cref="MetadataValidator"/>) must accept or refuse with <see cref="CheckpointFormatException"/>,
/// and a document it accepts must have chunks whose byte lengths are exactly their boxes' (computed
/// without overflow) and must serialize and read back (a checkpoint that loads can be re-saved).
/// </summary>
internal sealed class MetadataTarget : FuzzTarget
{
    /// <inheritdoc />
    public override string Name => "metadata";

    /// <inheritdoc />
    protected override void Feed(ReadOnlySpan<byte> input)
    {
        var metadata = MetadataJson.Deserialize(input, "metadata.json");
        foreach (var t in metadata.Tensors.Values)
        {
            var covered = BigInteger.Zero;
            foreach (var c in t.Chunks)
            {
                var volume = c.Box.Lengths.Aggregate(BigInteger.One, (v, l) => v * l);
                covered += volume;
                if (volume * DTypes.ElementSize(t.DType) != c.Bytes.Length)
                    throw new InvalidOperationException($"accepted chunk {c.Box} of '{t.Key}' has {c.Bytes.Length} bytes, not its box's");
            }
            if (t.Shape.Aggregate(BigInteger.One, (v, s) => v * s) != covered)
                throw new InvalidOperationException($"accepted chunks of '{t.Key}' cover {covered} elements, not its shape's");
        }
        try
        {
            MetadataJson.Deserialize(MetadataJson.Serialize(metadata), "rewritten metadata.json");
        }
        catch (ActorCkptException e)
        {
            // Not bad input: the reader accepted the input, so its own rewrite must be accepted too.
            throw new InvalidOperationException("an accepted document does not read back once rewritten", e);
        }
    }

    /// <inheritdoc />
    protected override bool IsBadInput(Exception e) => e is CheckpointFormatException;
}
