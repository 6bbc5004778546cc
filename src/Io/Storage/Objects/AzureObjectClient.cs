using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Core.Pipeline;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;

namespace ActorCkpt;

/// <summary>
/// <see cref="IObjectClient"/> on one Azure Blob container (Azure.Storage.Blobs). An upload is a
/// block blob's staged blocks, committed as a list; its id is a random prefix of the block ids (all
/// ids of a blob must be as long). The SDK's retries are off (the store above retries). Every body
/// carries a checksum the service checks: a whole blob its MD5, a block its CRC-64 or MD5
/// (<see cref="ObjectStoreOptions.AzureBlockChecksum"/>).
/// </summary>
internal sealed class AzureObjectClient : IObjectClient
{
    private readonly BlobContainerClient _container;
    private readonly HttpClient? _http;
    private readonly AzureBlockChecksum _blockChecksum;

    /// <summary>A client on container <paramref name="container"/> with <paramref name="options"/> (environment already applied).</summary>
    public AzureObjectClient(string container, ObjectStoreOptions options)
    {
        if (options.AzureConnectionString is not { } connection)
            throw new ActorCkptException($"az://{container}: no credentials: set AZURE_STORAGE_CONNECTION_STRING (or actorckpt.object-store.azure-connection-string)");
        // The newest service version Azurite 3.35 knows (the SDK's default is newer); Azure serves it too.
        var clientOptions = new BlobClientOptions(BlobClientOptions.ServiceVersion.V2025_11_05);
        clientOptions.Retry.MaxRetries = 0;
        clientOptions.Retry.NetworkTimeout = options.RequestTimeout;
        // Checksums are chosen per request below, never the SDK's structured messages.
        clientOptions.TransferValidation.Upload.ChecksumAlgorithm = Azure.Storage.StorageChecksumAlgorithm.None;
        clientOptions.AddPolicy(new AzureCrc64Policy(), Azure.Core.HttpPipelinePosition.PerCall);
        _blockChecksum = options.AzureBlockChecksum;
        if (options.WrapHandler is { } wrap)
        {
            _http = new HttpClient(wrap(new SocketsHttpHandler { MaxConnectionsPerServer = 256 })) { Timeout = Timeout.InfiniteTimeSpan };
            clientOptions.Transport = new HttpClientTransport(_http);
        }
        BlobServiceClient service;
        try
        {
            service = new BlobServiceClient(WithEndpoint(connection, options.Endpoint), clientOptions);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            throw new ActorCkptException($"az://{container}: the Azure connection string does not parse ({e.Message.ReplaceLineEndings(" ")})");
        }
        _container = service.GetBlobContainerClient(container);
        Describe = $"az://{container} ({service.Uri.GetLeftPart(UriPartial.Path).TrimEnd('/')})";
    }

    /// <inheritdoc />
    public string Describe { get; }

    /// <inheritdoc />
    /// <remarks>Azure and Azurite refuse a write with If-None-Match: * on an existing blob (409 BlobAlreadyExists).</remarks>
    public bool HonoursCreateOnly => true;

    /// <inheritdoc />
    public async Task EnsureContainerAsync(bool create, CancellationToken cancel)
    {
        var exists = await Call("", () => _container.ExistsAsync(cancel)).ConfigureAwait(false);
        if (exists.Value) return;
        if (!create)
            throw new ObjectStoreException(ObjectErrorKind.ContainerMissing,
                $"{Describe}: the container does not exist: create it, or have it created (actorckpt.object-store.create-missing = on; --create on demo, train and bench)");
        await Call("", () => _container.CreateIfNotExistsAsync(cancellationToken: cancel)).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<long?> LengthAsync(string key, CancellationToken cancel)
    {
        try
        {
            return (await Call(key, () => _container.GetBlobClient(key).GetPropertiesAsync(cancellationToken: cancel)).ConfigureAwait(false)).Value.ContentLength;
        }
        catch (ObjectStoreException e) when (e.Kind == ObjectErrorKind.NotFound)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public Task PutAsync(string key, ReadOnlyMemory<byte> data, bool createOnly, CancellationToken cancel) =>
        Call(key, () => Block(key).UploadAsync(ObjectRequests.Body(data), new BlobUploadOptions
        {
            Conditions = createOnly ? new BlobRequestConditions { IfNoneMatch = ETag.All } : null,
            HttpHeaders = new BlobHttpHeaders { ContentHash = MD5.HashData(data.Span) },
            TransferValidation = new Azure.Storage.UploadTransferValidationOptions { ChecksumAlgorithm = Azure.Storage.StorageChecksumAlgorithm.MD5 },
        }, cancel));

    /// <inheritdoc />
    public Task<string> StartUploadAsync(string key, CancellationToken cancel) => Task.FromResult(Guid.NewGuid().ToString("N")[..16]);

    /// <inheritdoc />
    public async Task<string> UploadPartAsync(string key, string uploadId, int part, ReadOnlySequence<byte> data, CancellationToken cancel)
    {
        var id = BlockId(uploadId, part);
        if (_blockChecksum == AzureBlockChecksum.Md5)
        {
            var md5 = Md5(data);
            await Call(key, () => ObjectRequests.WithLentBody(data, body => Block(key).StageBlockAsync(id, body, md5, conditions: null, progressHandler: null, cancel))).ConfigureAwait(false);
            return id;
        }
        using (AzureCrc64Policy.Scope(AzureCrc64Policy.Of(data)))
            await Call(key, () => ObjectRequests.WithLentBody(data, body => Block(key).StageBlockAsync(id, body, new BlockBlobStageBlockOptions(), cancel))).ConfigureAwait(false);
        return id;
    }

    private static byte[] Md5(ReadOnlySequence<byte> data)
    {
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        foreach (var piece in data) md5.AppendData(piece.Span);
        return md5.GetHashAndReset();
    }

    /// <inheritdoc />
    public Task CompleteUploadAsync(string key, string uploadId, IReadOnlyList<string> partTags, bool createOnly, CancellationToken cancel) =>
        Call(key, () => Block(key).CommitBlockListAsync(partTags, new CommitBlockListOptions
        {
            Conditions = createOnly ? new BlobRequestConditions { IfNoneMatch = ETag.All } : null,
        }, cancel));

    /// <inheritdoc />
    /// <remarks>
    /// Azure has no call that drops staged blocks: committing a block list drops every uncommitted
    /// one. So a blob made of blocks is committed again with its own list (its bytes unchanged), and
    /// a key with no blob is committed empty and deleted. Abort drops every staged block of the key,
    /// another writer's of the same key too (keys of a save are written by one writer at a time).
    /// </remarks>
    public async Task AbortUploadAsync(string key, string uploadId, CancellationToken cancel)
    {
        var blob = Block(key);
        BlockList list;
        try
        {
            list = (await Call(key, () => blob.GetBlockListAsync(BlockListTypes.All, cancellationToken: cancel)).ConfigureAwait(false)).Value;
        }
        catch (ObjectStoreException e) when (e.Kind == ObjectErrorKind.NotFound)
        {
            return;
        }
        if (!list.UncommittedBlocks.Any()) return;
        var committed = list.CommittedBlocks.Select(b => b.Name).ToArray();
        if (committed.Length > 0)
        {
            await Call(key, () => blob.CommitBlockListAsync(committed, new CommitBlockListOptions(), cancel)).ConfigureAwait(false);
            return;
        }
        // A blob written whole (one Put Blob) has no block list to commit again: committing an empty
        // one would empty it. Its staged blocks are left to Azure, which drops them after 7 days.
        if (await LengthAsync(key, cancel).ConfigureAwait(false) is not null) return;
        await Call(key, () => blob.CommitBlockListAsync([], new CommitBlockListOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } }, cancel)).ConfigureAwait(false);
        await DeleteAsync(key, cancel).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>Blobs that exist only as staged blocks (listed with uncommitted blobs, absent without); the id is not kept by Azure, so it is empty.</remarks>
    public async Task<IReadOnlyList<(string Key, string UploadId)>> ListUploadsAsync(string prefix, CancellationToken cancel)
    {
        var all = await NamesAsync(prefix, BlobStates.Uncommitted, cancel).ConfigureAwait(false);
        var committed = (await NamesAsync(prefix, BlobStates.None, cancel).ConfigureAwait(false)).ToHashSet(StringComparer.Ordinal);
        return all.Where(k => !committed.Contains(k)).Select(k => (k, "")).ToArray();
    }

    /// <inheritdoc />
    public async Task ReadAsync(string key, long offset, Memory<byte> into, CancellationToken cancel)
    {
        if (into.Length == 0) return;
        var response = await Call(key, () => _container.GetBlobClient(key).DownloadStreamingAsync(new BlobDownloadOptions { Range = new HttpRange(offset, into.Length) }, cancel)).ConfigureAwait(false);
        using var body = response.Value;
        try
        {
            await ObjectRequests.ReadExactlyAsync(body.Content, into, key, offset, cancel).ConfigureAwait(false);
        }
        catch (IOException e) when (e is not ObjectStoreException)
        {
            throw new ObjectStoreException(ObjectErrorKind.Transient, $"{Describe}: {key}: {e.Message}", inner: e);
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancel) => NamesAsync(prefix, BlobStates.None, cancel);

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> ListDirectoriesAsync(string prefix, CancellationToken cancel)
    {
        var names = new List<string>();
        await Call(prefix, async () =>
        {
            await foreach (var item in _container.GetBlobsByHierarchyAsync(BlobTraits.None, BlobStates.None, "/", prefix, cancel).ConfigureAwait(false))
                if (item.IsPrefix) names.Add(item.Prefix[prefix.Length..].TrimEnd('/'));
        }).ConfigureAwait(false);
        names.Sort(StringComparer.Ordinal);
        return names;
    }

    /// <inheritdoc />
    public async Task CopyAsync(string from, string to, bool createOnly, CancellationToken cancel)
    {
        var source = _container.GetBlobClient(from);
        var operation = await Call(to, () => _container.GetBlobClient(to).StartCopyFromUriAsync(source.Uri, new BlobCopyFromUriOptions
        {
            DestinationConditions = createOnly ? new BlobRequestConditions { IfNoneMatch = ETag.All } : null,
        }, cancel)).ConfigureAwait(false);
        await Call(to, async () => await operation.WaitForCompletionAsync(cancel).ConfigureAwait(false)).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task DeleteAsync(string key, CancellationToken cancel) =>
        Call(key, () => _container.GetBlobClient(key).DeleteIfExistsAsync(cancellationToken: cancel));

    /// <inheritdoc />
    public Task SdkUploadAsync(string key, Stream data, int partSize, int parallelism, CancellationToken cancel) =>
        _container.GetBlobClient(key).UploadAsync(data, new BlobUploadOptions { TransferOptions = Transfer(partSize, parallelism) }, cancel);

    /// <inheritdoc />
    public Task SdkDownloadAsync(string key, Stream into, int partSize, int parallelism, CancellationToken cancel) =>
        _container.GetBlobClient(key).DownloadToAsync(into, new BlobDownloadToOptions { TransferOptions = Transfer(partSize, parallelism) }, cancel);

    /// <inheritdoc />
    public void Dispose() => _http?.Dispose();

    private static Azure.Storage.StorageTransferOptions Transfer(int partSize, int parallelism) =>
        new() { MaximumConcurrency = parallelism, InitialTransferSize = partSize, MaximumTransferSize = partSize };

    private BlockBlobClient Block(string key) => _container.GetBlockBlobClient(key);

    private async Task<IReadOnlyList<string>> NamesAsync(string prefix, BlobStates states, CancellationToken cancel)
    {
        var names = new List<string>();
        await Call(prefix, async () =>
        {
            await foreach (var item in _container.GetBlobsAsync(BlobTraits.None, states, prefix, cancel).ConfigureAwait(false))
                names.Add(item.Name);
        }).ConfigureAwait(false);
        names.Sort(StringComparer.Ordinal);
        return names.Distinct(StringComparer.Ordinal).ToArray();
    }

    /// <summary>Block ids: all of one blob as long (base64 of 16 hex digits of the upload and 6 of the part).</summary>
    private static string BlockId(string uploadId, int part) => Convert.ToBase64String(Encoding.ASCII.GetBytes($"{uploadId}-{part:D6}"));

    private static string WithEndpoint(string connection, string? endpoint)
    {
        if (endpoint is null) return connection;
        var kept = connection.Split(';', StringSplitOptions.RemoveEmptyEntries).Where(p => !p.TrimStart().StartsWith("BlobEndpoint=", StringComparison.OrdinalIgnoreCase));
        return string.Join(';', kept.Append("BlobEndpoint=" + endpoint));
    }


    /// <summary>Runs a request, its failures classified (<see cref="Classify"/>).</summary>
    private Task<T> Call<T>(string key, Func<Task<T>> request) => ObjectRequests.Classified(request, e => Classify(e, key));

    private Task Call(string key, Func<Task> request) => ObjectRequests.Classified(request, e => Classify(e, key));

    /// <summary>What a failure means for a retry, as one line naming the container, the key and the service's answer; null for a cancellation the caller asked for.</summary>
    private ObjectStoreException? Classify(Exception e, string key)
    {
        var where = key.Length == 0 ? Describe : $"{Describe}: {key}";
        switch (e)
        {
            case RequestFailedException r:
            {
                var code = r.ErrorCode ?? "";
                var kind = code switch
                {
                    "ContainerNotFound" => ObjectErrorKind.ContainerMissing,
                    "BlobNotFound" or "InvalidBlockList" when r.Status == 404 => ObjectErrorKind.NotFound,
                    "AuthenticationFailed" or "AuthorizationFailure" or "AuthorizationPermissionMismatch" or "InvalidAuthenticationInfo" => ObjectErrorKind.Unauthorized,
                    "BlobAlreadyExists" or "ConditionNotMet" or "TargetConditionNotMet" => ObjectErrorKind.AlreadyExists,
                    "Md5Mismatch" or "InvalidMd5" or "Crc64Mismatch" => ObjectErrorKind.ChecksumRefused,
                    // Azurite's answer to a body that does not match its Content-MD5.
                    "InvalidOperation" when r.Message.Contains("contentMD5", StringComparison.OrdinalIgnoreCase) => ObjectErrorKind.ChecksumRefused,
                    "ServerBusy" or "OperationTimedOut" => ObjectErrorKind.Throttled,
                    _ => r.Status switch
                    {
                        404 => ObjectErrorKind.NotFound,
                        403 => ObjectErrorKind.Unauthorized,
                        409 or 412 => ObjectErrorKind.AlreadyExists,
                        429 or 503 => ObjectErrorKind.Throttled,
                        0 or >= 500 => ObjectErrorKind.Transient,
                        _ => ObjectErrorKind.Permanent,
                    },
                };
                var what = kind == ObjectErrorKind.Unauthorized ? ": the credentials were refused" : "";
                var message = r.Message.ReplaceLineEndings(" ");
                var firstLine = message.Split("Status:", 2)[0].Trim();
                // Status 0: no answer came (the connection failed); the SDK's message says how.
                var status = r.Status == 0 ? "" : $"{r.Status} {code}{what}: ";
                return new ObjectStoreException(kind, $"{where}: {status}{firstLine}", RetryAfter(r), r);
            }
            case HttpRequestException or IOException or TimeoutException:
                return new ObjectStoreException(ObjectErrorKind.Transient, $"{where}: {e.Message.ReplaceLineEndings(" ")}", inner: e);
            case AggregateException { InnerExceptions.Count: 1 } a:
                return Classify(a.InnerException!, key);
            default:
                return null;
        }
    }

    private static TimeSpan? RetryAfter(RequestFailedException e) =>
        e.GetRawResponse() is { } response && response.Headers.TryGetValue("Retry-After", out var value) && int.TryParse(value, out var seconds)
            ? TimeSpan.FromSeconds(seconds)
            : null;
}
