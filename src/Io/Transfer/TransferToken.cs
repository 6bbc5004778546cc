using System.Security.Cryptography;

namespace ActorCkpt;

/// <summary>
/// The one-time token that admits one transfer over the bulk channel: 16 random bytes, written as
/// 32 hexadecimal digits. A token is issued for one transfer to one node (<see cref="New"/>), or
/// derived from such a grant for each attempt of a retried transfer (<see cref="ForAttempt"/>), so
/// that a retry never reuses a token that was already redeemed.
/// </summary>
/// <param name="Hex">32 lowercase hexadecimal digits.</param>
internal sealed record TransferToken(string Hex)
{
    /// <summary>Bytes of a token on the wire.</summary>
    public const int Length = 16;

    /// <summary>A new random token.</summary>
    public static TransferToken New() => new(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(Length)));

    /// <summary>
    /// The token of attempt <paramref name="attempt"/> of the transfer this token was issued for:
    /// HMAC-SHA256 keyed by this token over the attempt number, cut to <see cref="Length"/> bytes.
    /// Whoever holds the grant can derive every attempt's token; nobody else can.
    /// </summary>
    public TransferToken ForAttempt(int attempt)
    {
        Span<byte> message = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(message, attempt);
        var mac = HMACSHA256.HashData(Convert.FromHexString(Hex), message);
        return new TransferToken(Convert.ToHexStringLower(mac.AsSpan(0, Length)));
    }

    /// <summary>Writes the token's <see cref="Length"/> bytes into <paramref name="into"/>.</summary>
    public void Write(Span<byte> into)
    {
        if (!Convert.FromHexString(Hex, into, out _, out var written).Equals(System.Buffers.OperationStatus.Done) || written != Length)
            throw new ArgumentException($"transfer token '{Hex}' is not {Length * 2} hexadecimal digits");
    }

    /// <summary>The token whose bytes are <paramref name="bytes"/>.</summary>
    public static TransferToken Read(ReadOnlySpan<byte> bytes) =>
        bytes.Length == Length ? new TransferToken(Convert.ToHexStringLower(bytes)) : throw new ArgumentException($"a transfer token is {Length} bytes, not {bytes.Length}");

    /// <summary>The first 8 digits: enough to tell transfers apart in a log, not to forge one.</summary>
    public override string ToString() => Hex.Length >= 8 ? Hex[..8] + "…" : Hex;
}
