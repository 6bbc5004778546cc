namespace ActorCkpt;

/// <summary>
/// An object opened for positional reads: each read is ranged GETs straight into the caller's
/// bytes, one per <see cref="ObjectStoreOptions.PartSize"/> of the range, at most
/// <see cref="ObjectStoreOptions.Parallelism"/> at once, each retried by <see cref="ObjectRetries"/>.
/// </summary>
internal sealed class ObjectReader(IObjectClient client, ObjectRetries retries, string key, string path, long length, ObjectStoreOptions options) : IBlobReader
{
    /// <inheritdoc />
    public long Length { get; } = length;

    /// <inheritdoc />
    /// <remarks>A read of this size is one ranged GET; larger ones are split into as many, sent in parallel.</remarks>
    public int PreferredReadBytes => options.PartSize;

    /// <inheritdoc />
    public bool ReadsAreRequests => true;

    /// <inheritdoc />
    public unsafe void ReadExactly(Span<byte> buffer, long offset)
    {
        if (buffer.Length == 0) return;
        if (offset < 0 || offset + buffer.Length > Length)
            throw new EndOfStreamException($"'{path}' ends at byte {Length}, before the range {offset}+{buffer.Length} read");
        fixed (byte* bytes = buffer)
        {
            // The span stays pinned until every GET into it has ended: this method waits for all of them.
            var memory = new PinnedSpanMemory(bytes, buffer.Length).Memory;
            ReadAllAsync(memory, offset).GetAwaiter().GetResult();
        }
    }

    private async Task ReadAllAsync(Memory<byte> into, long offset)
    {
        var size = options.PartSize;
        if (into.Length <= size)
        {
            await ReadOneAsync(into, offset).ConfigureAwait(false);
            return;
        }
        using var slots = new SemaphoreSlim(options.Parallelism);
        var reads = new List<Task>();
        for (var at = 0; at < into.Length; at += size)
        {
            var piece = into.Slice(at, Math.Min(size, into.Length - at));
            var from = offset + at;
            await slots.WaitAsync().ConfigureAwait(false);
            reads.Add(Task.Run(async () =>
            {
                try
                {
                    await ReadOneAsync(piece, from).ConfigureAwait(false);
                }
                finally
                {
                    slots.Release();
                }
            }));
        }
        await Task.WhenAll(reads).ConfigureAwait(false);
    }

    private Task ReadOneAsync(Memory<byte> into, long offset) =>
        retries.RunAsync($"{client.Describe}: {key} bytes {offset}+{into.Length}", c => client.ReadAsync(key, offset, into, c), CancellationToken.None);

    /// <inheritdoc />
    public void Dispose()
    {
    }
}
