namespace ActorCkpt;

/// <summary>
/// The host's own random generator (xoshiro256**), for what the host decides outside TorchSharp:
/// the data order. Unlike <see cref="System.Random"/>, its whole state can be read and set, so a
/// checkpoint can carry it and a resumed run draws the same numbers.
/// </summary>
internal sealed class HostRandom
{
    private ulong _s0, _s1, _s2, _s3;

    /// <summary>A generator seeded with <paramref name="seed"/> (expanded by SplitMix64).</summary>
    public HostRandom(ulong seed)
    {
        _s0 = SplitMix(ref seed);
        _s1 = SplitMix(ref seed);
        _s2 = SplitMix(ref seed);
        _s3 = SplitMix(ref seed);
    }

    /// <summary>The state: four words. Setting it to all zeros is refused (the generator would stay at zero).</summary>
    public ulong[] State
    {
        get => new[] { _s0, _s1, _s2, _s3 };
        set
        {
            if (value is not { Length: 4 }) throw new ArgumentException("a HostRandom state is four 64-bit words");
            if (value.All(w => w == 0)) throw new ArgumentException("a HostRandom state of all zeros is not a state the generator can be in");
            (_s0, _s1, _s2, _s3) = (value[0], value[1], value[2], value[3]);
        }
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        var result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>A uniform integer in [0, <paramref name="bound"/>), without modulo bias.</summary>
    public long NextInt64(long bound)
    {
        if (bound <= 0) throw new ArgumentOutOfRangeException(nameof(bound), $"bound = {bound}: the bound must be positive");
        var limit = ulong.MaxValue - ulong.MaxValue % (ulong)bound;
        ulong x;
        do x = NextUInt64(); while (x >= limit);
        return (long)(x % (ulong)bound);
    }

    /// <summary>Shuffles <paramref name="items"/> in place (Fisher–Yates).</summary>
    public void Shuffle<T>(IList<T> items)
    {
        for (var i = items.Count - 1; i > 0; i--)
        {
            var j = (int)NextInt64(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    private static ulong SplitMix(ref ulong x)
    {
        var z = x += 0x9E3779B97F4A7C15;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }
}
