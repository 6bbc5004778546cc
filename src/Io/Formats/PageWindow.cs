using System.Buffers;

namespace ActorCkpt;

/// <summary>
/// A stretch of a metadata file read at once into a pooled buffer, from which the pages lying in
/// it are sliced. A whole read through a reader then makes one read per tensor instead of one per
/// page of 64 chunks, and never holds an array the size of the document (a fresh 64 MB array at
/// 4,096 ranks costs more to fault in than the read itself). Pages outside the stretch are read on
/// their own. Disposing returns the buffer, so nothing sliced from it may be kept: the reader copies
/// every field it decodes.
/// </summary>
internal sealed class PageWindow : IDisposable
{
    /// <summary>The longest stretch read at once; a tensor whose pages span more is read page by page.</summary>
    public const int MaxBytes = 64 << 20;

    private byte[]? _buffer;
    private readonly long _offset;
    private readonly int _length;

    private PageWindow(byte[] buffer, long offset, int length)
    {
        _buffer = buffer;
        _offset = offset;
        _length = length;
    }

    /// <summary>
    /// Reads the stretch of <paramref name="reader"/> from the first of <paramref name="regions"/> to
    /// the end of the last, or returns null when it is empty, longer than <see cref="MaxBytes"/>, or
    /// more than twice the regions' bytes (regions scattered through the file are better read alone).
    /// The regions lie inside the file (the index checked them).
    /// </summary>
    public static PageWindow? Read(IBlobReader reader, IEnumerable<MetadataIndex.Region> regions)
    {
        long start = long.MaxValue, end = 0, bytes = 0;
        foreach (var r in regions)
        {
            start = Math.Min(start, r.Offset);
            end = Math.Max(end, r.Offset + r.Length);
            bytes += r.Length;
        }
        if (end <= start || end - start > MaxBytes || end - start > 2 * bytes) return null;
        var length = (int)(end - start);
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            reader.ReadExactly(buffer.AsSpan(0, length), start);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
        return new PageWindow(buffer, start, length);
    }

    /// <summary>The bytes of <paramref name="region"/> when the stretch holds all of them, else null.</summary>
    public ReadOnlyMemory<byte>? Slice(MetadataIndex.Region region)
    {
        ObjectDisposedException.ThrowIf(_buffer is null, this);
        if (region.Offset < _offset || region.Offset + region.Length > _offset + _length) return null;
        return _buffer.AsMemory((int)(region.Offset - _offset), (int)region.Length);
    }

    /// <summary>Returns the buffer to the pool.</summary>
    public void Dispose()
    {
        if (_buffer is not { } buffer) return;
        _buffer = null;
        ArrayPool<byte>.Shared.Return(buffer);
    }
}
