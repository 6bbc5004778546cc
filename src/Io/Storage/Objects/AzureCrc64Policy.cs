using System.Buffers;
using System.IO.Hashing;
using Azure.Core;
using Azure.Core.Pipeline;

namespace ActorCkpt;

/// <summary>
/// Puts a block's CRC-64 in <c>x-ms-content-crc64</c>, where Azure checks it before it keeps the
/// block. Azure.Storage.Blobs 12.30 sends its own CRC-64 only as a structured message
/// (<c>x-ms-structured-body</c>), which Azurite does not accept; the plain header is what every
/// service version since 2019-02-02 reads. The checksum reaches the request as a message property
/// set around the call (<see cref="Scope"/>), so a request without one is left alone.
/// </summary>
internal sealed class AzureCrc64Policy : HttpPipelineSynchronousPolicy
{
    private const string Property = "actorckpt.crc64";

    /// <summary>The header Azure reads a body's CRC-64 from.</summary>
    public const string Header = "x-ms-content-crc64";

    /// <summary>Azure's CRC-64 of <paramref name="data"/> as the header carries it: the 8 bytes, least significant first, in base64.</summary>
    public static string Of(ReadOnlySpan<byte> data) => Convert.ToBase64String(Crc64.Hash(Crc64ParameterSet.Nvme, data));

    /// <summary><see cref="Of(ReadOnlySpan{byte})"/> over pieces laid end to end.</summary>
    public static string Of(ReadOnlySequence<byte> data)
    {
        var crc = new Crc64(Crc64ParameterSet.Nvme);
        foreach (var piece in data) crc.Append(piece.Span);
        return Convert.ToBase64String(crc.GetCurrentHash());
    }

    /// <summary>Requests created until the scope is disposed (on this async flow) carry <paramref name="crc64"/>.</summary>
    public static IDisposable Scope(string crc64) =>
        HttpPipeline.CreateHttpMessagePropertiesScope(new Dictionary<string, object?>(StringComparer.Ordinal) { [Property] = crc64 });

    /// <inheritdoc />
    public override void OnSendingRequest(HttpMessage message)
    {
        if (message.TryGetProperty(Property, out var value) && value is string crc64)
            message.Request.Headers.SetValue(Header, crc64);
    }
}
