namespace ActorCkpt;

/// <summary>
/// The first way a data file's <see cref="FileWriteResult"/> differs from the one expected: a copy of a
/// file made from a replica must report exactly what the replica recorded, and that equality is its proof.
/// </summary>
/// <param name="Item">The item's storage name, or null when the difference is in the file itself.</param>
/// <param name="Block">The checksum block, or null when the difference is not in one block's checksum.</param>
/// <param name="Problem">One line saying what differs.</param>
internal sealed record ResultDifference(string? Item, int? Block, string Problem)
{
    /// <summary>Null when <paramref name="actual"/> equals <paramref name="expected"/> field for field; otherwise the first difference.</summary>
    public static ResultDifference? Between(FileWriteResult expected, FileWriteResult actual)
    {
        if (actual.FileName != expected.FileName) return new(null, null, $"file '{actual.FileName}' is not the expected '{expected.FileName}'");
        if (actual.HeaderChecksum != expected.HeaderChecksum)
            return new(null, null, $"the safetensors header's checksum is {actual.HeaderChecksum}, expected {expected.HeaderChecksum}");
        if (actual.Items.Count != expected.Items.Count) return new(null, null, $"{actual.Items.Count} items, expected {expected.Items.Count}");
        for (var i = 0; i < expected.Items.Count; i++)
        {
            var (want, got) = (expected.Items[i], actual.Items[i]);
            if (got.StorageName != want.StorageName) return new(want.StorageName, null, $"item {i} is '{got.StorageName}', expected '{want.StorageName}'");
            var (w, g) = (want.Bytes, got.Bytes);
            if (g.File != w.File || g.Offset != w.Offset || g.Length != w.Length || g.BlockSize != w.BlockSize || g.BlockChecksums.Count != w.BlockChecksums.Count)
                return new(want.StorageName, null, $"item '{want.StorageName}' is at {g.Offset}+{g.Length} in blocks of {g.BlockSize} ({g.BlockChecksums.Count}), " +
                                                   $"expected {w.Offset}+{w.Length} in blocks of {w.BlockSize} ({w.BlockChecksums.Count})");
            for (var b = 0; b < w.BlockChecksums.Count; b++)
                if (g.BlockChecksums[b] != w.BlockChecksums[b])
                    return new(want.StorageName, b, $"item '{want.StorageName}' block {b} has checksum {BlockChecksums.ToHex(g.BlockChecksums[b])}, " +
                                                    $"expected {BlockChecksums.ToHex(w.BlockChecksums[b])}");
        }
        return actual.Length == expected.Length ? null : new(null, null, $"the file is {actual.Length} bytes, expected {expected.Length}");
    }
}
