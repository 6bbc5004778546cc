namespace ActorCkpt;

/// <summary>
/// The transactional checksum of an Azure block: the service computes it again over the bytes it
/// received and refuses the block when they differ, so a block damaged on the way is sent again.
/// </summary>
internal enum AzureBlockChecksum
{
    /// <summary>
    /// CRC-64 (<c>x-ms-content-crc64</c>): about twenty times cheaper to compute than MD5 here.
    /// Azurite ignores it, so against the emulator a damaged block is found only by the readers' checks.
    /// </summary>
    Crc64,

    /// <summary>MD5 (<c>Content-MD5</c>): the only block checksum Azurite checks.</summary>
    Md5,
}
