using System.IO.Hashing;

namespace ActorCkpt;

/// <summary>
/// Writes one data file of a save whose bytes arrive in pieces (from staged buffers, or from a
/// remote rank in chunks): the safetensors header first, then each piece at its place, each
/// item's block checksums computed as its bytes go by. Pieces of one item must arrive in order;
/// items may interleave. <see cref="Complete"/> checks that every byte arrived, then fsyncs.
/// Each item's block size is <see cref="BlockChecksums.SizeFor"/> its length, or the size given.
/// </summary>
internal sealed class DataFileStreamWriter : IDataFileSink
{
    private readonly FileWritePlan _plan;
    private readonly SafetensorsHeader _header;
    private readonly IBlobWriter _writer;
    private readonly int[] _blockSizes;
    private readonly long[] _received;
    private readonly List<ulong>[] _sums;
    private readonly XxHash3[] _hashers;

    /// <summary>Most bytes checksummed and written at once: half the L2 cache of today's cores, so the write finds the bytes the checksum just read.</summary>
    internal const int PieceSize = 256 << 10;

    /// <summary>
    /// Creates the file <paramref name="plan"/> names in <paramref name="directory"/> and writes its
    /// header; no item's checksum blocks are larger than <paramref name="maxBlockSize"/>.
    /// </summary>
    public DataFileStreamWriter(IBlobStore store, string directory, FileWritePlan plan, int maxBlockSize, IReadOnlyDictionary<string, string> fileMetadata)
        : this(() => store.Create(directory + "/" + plan.FileName), null, plan, SizesFor(plan, maxBlockSize), fileMetadata)
    {
    }

    /// <summary>
    /// Writes the data file of <paramref name="plan"/> through <paramref name="writer"/> (which this
    /// writer then owns and disposes), checksumming item i in blocks of <paramref name="blockSizes"/>[i]
    /// bytes: a replica in tmpfs, or a disk file rewritten from one with the block sizes it recorded.
    /// </summary>
    public DataFileStreamWriter(IBlobWriter writer, FileWritePlan plan, IReadOnlyList<int> blockSizes, IReadOnlyDictionary<string, string> fileMetadata)
        : this(() => writer, writer.Dispose, plan, blockSizes, fileMetadata)
    {
    }

    /// <summary>
    /// Builds the header, then opens the file through <paramref name="open"/>: a bad plan is refused
    /// before a file exists (<paramref name="refused"/> then lets go of a writer handed over).
    /// </summary>
    private DataFileStreamWriter(Func<IBlobWriter> open, Action? refused, FileWritePlan plan, IReadOnlyList<int> blockSizes, IReadOnlyDictionary<string, string> fileMetadata)
    {
        byte[] bytes;
        try
        {
            if (!MetadataValidator.IsPlainFileName(plan.FileName))
                throw new ActorCkptException($"data file name '{plan.FileName}' is not a plain name inside the step directory");
            if (blockSizes.Count != plan.Items.Count || blockSizes.Any(b => b <= 0))
                throw new ArgumentException($"'{plan.FileName}': {blockSizes.Count} block sizes for {plan.Items.Count} items, each must be positive " +
                                            $"({string.Join(", ", blockSizes)})", nameof(blockSizes));
            (bytes, _header) = SafetensorsHeader.Build(plan.Items.Select(i => (i.StorageName, i.DType, i.Box.Lengths)).ToArray(), fileMetadata);
        }
        catch
        {
            refused?.Invoke();
            throw;
        }
        _plan = plan;
        _blockSizes = blockSizes.ToArray();
        _received = new long[plan.Items.Count];
        _sums = plan.Items.Select(_ => new List<ulong>()).ToArray();
        _hashers = plan.Items.Select(_ => new XxHash3()).ToArray();
        _writer = open();
        try
        {
            _writer.Write(bytes, 0);
        }
        catch
        {
            _writer.Dispose();
            throw;
        }
    }

    /// <summary>Each item's block size when blocks are at most <paramref name="maxBlockSize"/> bytes.</summary>
    private static int[] SizesFor(FileWritePlan plan, int maxBlockSize)
    {
        if (maxBlockSize <= 0) throw new ArgumentOutOfRangeException(nameof(maxBlockSize), maxBlockSize, "must be positive");
        return plan.Items.Select(i => BlockChecksums.SizeFor(i.ByteLength, maxBlockSize)).ToArray();
    }

    /// <summary>
    /// Writes <paramref name="bytes"/> of item <paramref name="item"/> starting at byte
    /// <paramref name="offset"/> of the item; throws naming the item when the piece is out of order
    /// or out of bounds.
    /// </summary>
    public void Append(int item, long offset, ReadOnlySpan<byte> bytes) => Append(item, offset, bytes, default, lent: false);

    /// <inheritdoc />
    public void AppendLent(int item, long offset, ReadOnlyMemory<byte> bytes) => Append(item, offset, bytes.Span, bytes, lent: true);

    /// <summary>
    /// The bytes of an append, checksummed piece by piece; each piece written from
    /// <paramref name="span"/>, or when <paramref name="lent"/> lent to the writer as the same piece of
    /// <paramref name="memory"/> (which holds the same bytes).
    /// </summary>
    private void Append(int item, long offset, ReadOnlySpan<byte> span, ReadOnlyMemory<byte> memory, bool lent)
    {
        if (item < 0 || item >= _received.Length)
            throw new ArgumentOutOfRangeException(nameof(item), item, $"'{_plan.FileName}' has {_received.Length} items");
        var planned = _plan.Items[item];
        if (offset != _received[item] || offset + span.Length > planned.ByteLength)
            throw new ActorCkptException($"'{_plan.FileName}': piece of '{planned.StorageName}' at {offset}+{span.Length} " +
                                         $"does not follow the {_received[item]} bytes received of {planned.ByteLength}");
        var at = _header.DataStart + _header.Entries[item].Begin + offset;
        var hasher = _hashers[item];
        var blockSize = _blockSizes[item];
        // Piece by piece, each at most half a core's L2 cache and within one checksum block: the
        // checksum reads the piece from memory, and the write copies it from the cache, so every
        // byte comes from memory once (hashing after a whole item was written read it twice).
        for (var done = 0; done < span.Length;)
        {
            var inBlock = (int)(_received[item] % blockSize);
            var take = Math.Min(Math.Min(blockSize - inBlock, PieceSize), span.Length - done);
            var piece = span.Slice(done, take);
            hasher.Append(piece);
            if (lent) _writer.WriteLent(memory.Slice(done, take), at);
            else _writer.Write(piece, at);
            at += take;
            done += take;
            _received[item] += take;
            if (_received[item] % blockSize == 0)
            {
                _sums[item].Add(hasher.GetCurrentHashAsUInt64());
                hasher.Reset();
            }
        }
    }

    /// <summary>Checks that every item is complete, fsyncs the file, and reports where each item landed.</summary>
    public FileWriteResult Complete()
    {
        var items = new WrittenItem[_received.Length];
        for (var i = 0; i < items.Length; i++)
        {
            var planned = _plan.Items[i];
            if (_received[i] != planned.ByteLength)
                throw new ActorCkptException($"'{_plan.FileName}': '{planned.StorageName}' got {_received[i]} of its {planned.ByteLength} bytes");
            if (_received[i] % _blockSizes[i] != 0) _sums[i].Add(_hashers[i].GetCurrentHashAsUInt64());
            items[i] = new WrittenItem(planned.StorageName,
                new StoredBytes(_plan.FileName, _header.DataStart + _header.Entries[i].Begin, planned.ByteLength, _blockSizes[i], _sums[i].ToArray()));
        }
        _writer.Flush();
        var length = _header.DataStart + (_header.Entries.Count == 0 ? 0 : _header.Entries[^1].End);
        return new FileWriteResult(_plan.FileName, length, items, _header.Checksum);
    }

    /// <summary>Closes the file (without fsync when <see cref="Complete"/> was not reached).</summary>
    public void Dispose() => _writer.Dispose();
}
