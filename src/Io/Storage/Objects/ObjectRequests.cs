using System.Buffers;
using System.Runtime.InteropServices;

namespace ActorCkpt;

/// <summary>What both object-store clients do around a request: bodies over the caller's bytes, failures classified, response bodies read exactly.</summary>
internal static class ObjectRequests
{
    /// <summary>A request body over <paramref name="data"/>'s own array when it has one (the part buffers do), a copy otherwise.</summary>
    public static MemoryStream Body(ReadOnlyMemory<byte> data) =>
        MemoryMarshal.TryGetArray(data, out var array) ? new MemoryStream(array.Array!, array.Offset, array.Count, writable: false) : new MemoryStream(data.ToArray(), writable: false);

    /// <summary>
    /// Sends a request whose body is <paramref name="data"/>, read where it lies (<see cref="LentBody"/>);
    /// completes only once the body can no longer be read, so the caller may then free the bytes.
    /// </summary>
    public static async Task<T> WithLentBody<T>(ReadOnlySequence<byte> data, Func<Stream, Task<T>> send)
    {
        var body = new LentBody(data);
        try
        {
            return await send(body).ConfigureAwait(false);
        }
        finally
        {
            await body.RetireAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Runs <paramref name="request"/>; a failure <paramref name="classify"/> knows is thrown as its <see cref="ObjectStoreException"/>, anything else (a cancellation the caller asked for) as it came.</summary>
    public static async Task<T> Classified<T>(Func<Task<T>> request, Func<Exception, ObjectStoreException?> classify)
    {
        try
        {
            return await request().ConfigureAwait(false);
        }
        catch (Exception e) when (classify(e) is { } failure)
        {
            throw failure;
        }
    }

    /// <summary><see cref="Classified{T}"/> for requests without a result.</summary>
    public static Task Classified(Func<Task> request, Func<Exception, ObjectStoreException?> classify) =>
        Classified(async () => { await request().ConfigureAwait(false); return true; }, classify);

    /// <summary>Fills <paramref name="into"/> from a response body; a body that ends early is a transient failure (a cut connection).</summary>
    public static async Task ReadExactlyAsync(Stream body, Memory<byte> into, string key, long offset, CancellationToken cancel)
    {
        var read = await body.ReadAtLeastAsync(into, into.Length, throwOnEndOfStream: false, cancel).ConfigureAwait(false);
        if (read < into.Length)
            throw new ObjectStoreException(ObjectErrorKind.Transient, $"{key}: the body of bytes {offset}+{into.Length} ended after {read}");
    }
}
