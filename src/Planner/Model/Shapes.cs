namespace ActorCkpt;

/// <summary>Arithmetic on tensor shapes (row-major, like PyTorch's contiguous layout).</summary>
internal static class Shapes
{
    /// <summary>
    /// The most dimensions a checkpointed tensor has (PyTorch's own limit for most operations is lower):
    /// the binary metadata stores no more, so a save of more is refused before anything is written.
    /// </summary>
    public const int MaxDimensions = 64;

    /// <summary>
    /// Number of elements; 1 for a scalar (empty shape). Checked: a shape whose count does not fit
    /// in 64 bits throws <see cref="OverflowException"/> rather than wrap to a wrong size (shapes
    /// read from files are checked with <see cref="TryVolume"/> first).
    /// </summary>
    public static long Volume(IReadOnlyList<long> shape)
    {
        // A size of 0 anywhere makes the count 0, however large the sizes before it.
        for (var i = 0; i < shape.Count; i++) if (shape[i] == 0) return 0;
        long v = 1;
        for (var i = 0; i < shape.Count; i++) v = checked(v * shape[i]);
        return v;
    }

    /// <summary>
    /// The number of elements of <paramref name="shape"/> and, times <paramref name="elementSize"/>,
    /// its bytes; false when a size is negative or either count overflows 64 bits.
    /// </summary>
    public static bool TryVolume(IReadOnlyList<long> shape, int elementSize, out long volume, out long bytes)
    {
        volume = 1;
        bytes = 0;
        var empty = false;
        for (var i = 0; i < shape.Count; i++)
        {
            if (shape[i] < 0) return false;
            empty |= shape[i] == 0;
        }
        if (empty)
        {
            volume = 0;
            return elementSize >= 0;
        }
        for (var i = 0; i < shape.Count; i++)
        {
            if (shape[i] < 0 || (shape[i] > 0 && volume > long.MaxValue / shape[i])) return false;
            volume *= shape[i];
        }
        if (elementSize < 0 || (elementSize > 0 && volume > long.MaxValue / elementSize)) return false;
        bytes = volume * elementSize;
        return true;
    }

    /// <summary>Why <paramref name="shape"/> cannot be counted (<see cref="TryVolume"/> refused it), for a message: "[…] has a negative size" or "[…] holds more bytes than 64 bits count".</summary>
    public static string Uncountable(IReadOnlyList<long> shape) =>
        Format(shape) + (shape.Any(s => s < 0) ? " has a negative size" : " holds more bytes than 64 bits count");

    /// <summary>"[4, 1024]" for error messages and listings.</summary>
    public static string Format(IReadOnlyList<long> shape) => "[" + string.Join(", ", shape) + "]";

    /// <summary>True when both shapes have the same rank and sizes.</summary>
    public static bool Equal(IReadOnlyList<long> a, IReadOnlyList<long> b)
    {
        if (a.Count != b.Count) return false;
        for (var i = 0; i < a.Count; i++) if (a[i] != b[i]) return false;
        return true;
    }

    /// <summary>Row-major linear index of <paramref name="index"/> inside <paramref name="shape"/>.</summary>
    public static long LinearIndex(IReadOnlyList<long> shape, ReadOnlySpan<long> index)
    {
        long linear = 0;
        for (var d = 0; d < shape.Count; d++) linear = linear * shape[d] + index[d];
        return linear;
    }
}
