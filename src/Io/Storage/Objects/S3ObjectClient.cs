using System.Buffers;
using System.Net;
using System.Security.Cryptography;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Amazon.S3.Transfer;

namespace ActorCkpt;

/// <summary>
/// <see cref="IObjectClient"/> on one S3 bucket (AWSSDK.S3), or a server that speaks its API.
/// The SDK's retries are off (the store above retries), its default streaming checksums too
/// (aws-chunked trailers, which S3-compatible servers such as s3rver store as they come). Every
/// body is signed whole instead: its SHA-256 is in the request's signature (x-amz-content-sha256),
/// which S3 checks before it keeps the bytes; whole objects also carry their Content-MD5 (parts do
/// not: a second hash of every byte cost a tenth of the upload's speed here).
/// </summary>
internal sealed class S3ObjectClient : IObjectClient
{
    private readonly AmazonS3Client _s3;
    private readonly string _bucket;
    private readonly HttpClient? _http;
    private bool? _honoursCreateOnly;
    private bool? _uploadMarkers;
    private readonly bool _endpointAddress;

    /// <summary>The suffix of an upload's marker object (<see cref="UploadMarkers"/>).</summary>
    private const string MarkerInfix = ".upload-";

    /// <summary>A client on <paramref name="bucket"/> with <paramref name="options"/> (environment already applied).</summary>
    public S3ObjectClient(string bucket, ObjectStoreOptions options)
    {
        if (options.AccessKeyId is null || options.SecretAccessKey is null)
            throw new ActorCkptException($"s3://{bucket}: no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or actorckpt.object-store.access-key-id and secret-access-key)");
        _bucket = bucket;
        var region = options.Region ?? "us-east-1";
        var config = new AmazonS3Config
        {
            MaxErrorRetry = 0,
            Timeout = options.RequestTimeout,
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        if (options.Endpoint is { } endpoint)
        {
            // An address (an emulator, a private endpoint): path-style, signed for the region given.
            config.ServiceURL = endpoint;
            _endpointAddress = true;
            config.ForcePathStyle = true;
            config.AuthenticationRegion = region;
        }
        else config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(region);
        if (options.WrapHandler is { } wrap)
        {
            _http = new HttpClient(wrap(new SocketsHttpHandler { MaxConnectionsPerServer = 256 })) { Timeout = Timeout.InfiniteTimeSpan };
            config.HttpClientFactory = new FixedHttpClientFactory(_http);
        }
        _s3 = new AmazonS3Client(new BasicAWSCredentials(options.AccessKeyId, options.SecretAccessKey), config);
        Describe = $"s3://{bucket} ({options.Endpoint ?? region})";
    }

    /// <inheritdoc />
    public string Describe { get; }

    /// <inheritdoc />
    /// <remarks>
    /// Found out at the first create-only write, not at the open (a reader's credentials may not
    /// write): a probe object written create-only twice, then deleted.
    /// </remarks>
    public bool HonoursCreateOnly => _honoursCreateOnly ??= ProbeCreateOnlyAsync(CancellationToken.None).GetAwaiter().GetResult();

    /// <inheritdoc />
    public async Task EnsureContainerAsync(bool create, CancellationToken cancel)
    {
        try
        {
            // A listing that finds nothing: the bucket's existence and the credentials, without a continuation token.
            await Call("", () => _s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _bucket, Prefix = ".actorckpt-probe-", MaxKeys = 1 }, cancel)).ConfigureAwait(false);
        }
        catch (ObjectStoreException e) when (e.Kind == ObjectErrorKind.ContainerMissing && create)
        {
            await Call("", () => _s3.PutBucketAsync(new PutBucketRequest { BucketName = _bucket }, cancel)).ConfigureAwait(false);
        }
        catch (ObjectStoreException e) when (e.Kind == ObjectErrorKind.ContainerMissing)
        {
            throw new ObjectStoreException(ObjectErrorKind.ContainerMissing,
                $"{Describe}: the bucket does not exist: create it, or have it created (actorckpt.object-store.create-missing = on; --create on demo, train and bench)", inner: e);
        }
    }

    /// <summary>
    /// True when the service lists multipart uploads in progress (S3 does; s3rver answers 501).
    /// Where it does not, each upload leaves a marker object beside its key while it runs
    /// (<c>key.upload-&lt;hash of its id&gt;</c>, holding the id), so that gc can find and abort
    /// the uploads a killed writer left there too.
    /// </summary>
    /// <remarks>Found out at the first upload or listing of uploads, not at the open.</remarks>
    public bool UploadMarkers => _uploadMarkers ??= !ListsUploadsAsync(CancellationToken.None).GetAwaiter().GetResult();

    private async Task<bool> ListsUploadsAsync(CancellationToken cancel)
    {
        try
        {
            await _s3.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = _bucket, Prefix = ".actorckpt-probe" }, cancel).ConfigureAwait(false);
            return true;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotImplemented)
        {
            return false;
        }
    }

    private static string MarkerKey(string key, string uploadId) =>
        key + MarkerInfix + Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(uploadId)))[..16];

    /// <summary>Writes a probe key create-only twice: a service that honours If-None-Match refuses the second.</summary>
    private async Task<bool> ProbeCreateOnlyAsync(CancellationToken cancel)
    {
        var key = $".actorckpt-probe-{Guid.NewGuid():N}";
        try
        {
            await PutAsync(key, "probe"u8.ToArray(), createOnly: true, cancel).ConfigureAwait(false);
            try
            {
                await PutAsync(key, "probe"u8.ToArray(), createOnly: true, cancel).ConfigureAwait(false);
                return false;
            }
            catch (ObjectStoreException e) when (e.Kind == ObjectErrorKind.AlreadyExists)
            {
                return true;
            }
        }
        finally
        {
            await DeleteAsync(key, cancel).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<long?> LengthAsync(string key, CancellationToken cancel)
    {
        try
        {
            var head = await Call(key, () => _s3.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = _bucket, Key = key }, cancel)).ConfigureAwait(false);
            return head.ContentLength;
        }
        catch (ObjectStoreException e) when (e.Kind == ObjectErrorKind.NotFound)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public Task PutAsync(string key, ReadOnlyMemory<byte> data, bool createOnly, CancellationToken cancel) =>
        Call(key, () => _s3.PutObjectAsync(new PutObjectRequest
        {
            BucketName = _bucket,
            Key = key,
            InputStream = ObjectRequests.Body(data),
            MD5Digest = Md5(data.Span),
            UseChunkEncoding = false,
            IfNoneMatch = createOnly ? "*" : null,
            AutoCloseStream = true,
        }, cancel));

    /// <inheritdoc />
    public async Task<string> StartUploadAsync(string key, CancellationToken cancel)
    {
        var id = (await Call(key, () => _s3.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = _bucket, Key = key }, cancel)).ConfigureAwait(false)).UploadId;
        if (UploadMarkers) await PutAsync(MarkerKey(key, id), System.Text.Encoding.UTF8.GetBytes(id), createOnly: false, cancel).ConfigureAwait(false);
        return id;
    }

    /// <inheritdoc />
    public async Task<string> UploadPartAsync(string key, string uploadId, int part, ReadOnlySequence<byte> data, CancellationToken cancel) =>
        (await Call(key, () => ObjectRequests.WithLentBody(data, body => _s3.UploadPartAsync(new UploadPartRequest
        {
            BucketName = _bucket,
            Key = key,
            UploadId = uploadId,
            PartNumber = part,
            InputStream = body,
            PartSize = data.Length,
            UseChunkEncoding = false,
        }, cancel))).ConfigureAwait(false)).ETag;

    /// <inheritdoc />
    public async Task CompleteUploadAsync(string key, string uploadId, IReadOnlyList<string> partTags, bool createOnly, CancellationToken cancel)
    {
        await Call(key, () => _s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
        {
            BucketName = _bucket,
            Key = key,
            UploadId = uploadId,
            PartETags = partTags.Select((tag, i) => new PartETag(i + 1, tag)).ToList(),
            IfNoneMatch = createOnly ? "*" : null,
        }, cancel)).ConfigureAwait(false);
        if (UploadMarkers) await DeleteAsync(MarkerKey(key, uploadId), cancel).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task AbortUploadAsync(string key, string uploadId, CancellationToken cancel)
    {
        try
        {
            await Call(key, () => _s3.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = _bucket, Key = key, UploadId = uploadId }, cancel)).ConfigureAwait(false);
        }
        catch (ObjectStoreException e) when (e.Kind == ObjectErrorKind.NotFound)
        {
            // Gone already (completed, or aborted by someone else): nothing is left of it.
        }
        catch (ObjectStoreException e) when (e.InnerException is AmazonS3Exception { StatusCode: HttpStatusCode.MethodNotAllowed or HttpStatusCode.NotImplemented })
        {
            // A server without AbortMultipartUpload (s3rver): its parts stay in its own storage,
            // unlisted and never part of an object; only the marker can go.
        }
        if (UploadMarkers) await DeleteAsync(MarkerKey(key, uploadId), cancel).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<(string Key, string UploadId)>> ListUploadsAsync(string prefix, CancellationToken cancel)
    {
        var found = new List<(string, string)>();
        if (UploadMarkers)
        {
            foreach (var marker in await ListAsync(prefix, cancel).ConfigureAwait(false))
            {
                var at = marker.LastIndexOf(MarkerInfix, StringComparison.Ordinal);
                if (at < 0 || marker.Length - at != MarkerInfix.Length + 16) continue;
                // A marker listed a moment ago may be gone now: its upload was completed or aborted
                // between the listing and the read, so nothing of it is left open.
                var length = await LengthAsync(marker, cancel).ConfigureAwait(false);
                if (length is not { } bytes) continue;
                var id = new byte[(int)bytes];
                try
                {
                    await ReadAsync(marker, 0, id, cancel).ConfigureAwait(false);
                }
                catch (ObjectStoreException e) when (e.Kind == ObjectErrorKind.NotFound)
                {
                    continue;
                }
                found.Add((marker[..at], System.Text.Encoding.UTF8.GetString(id)));
            }
            return found;
        }
        string? keyMarker = null, idMarker = null;
        while (true)
        {
            var page = await Call(prefix, () => _s3.ListMultipartUploadsAsync(new ListMultipartUploadsRequest
            {
                BucketName = _bucket, Prefix = prefix, KeyMarker = keyMarker, UploadIdMarker = idMarker,
            }, cancel)).ConfigureAwait(false);
            found.AddRange((page.MultipartUploads ?? []).Select(u => (u.Key, u.UploadId)));
            if (page.IsTruncated != true) return found;
            (keyMarker, idMarker) = (page.NextKeyMarker, page.NextUploadIdMarker);
        }
    }

    /// <inheritdoc />
    public async Task ReadAsync(string key, long offset, Memory<byte> into, CancellationToken cancel)
    {
        if (into.Length == 0) return;
        using var response = await Call(key, () => _s3.GetObjectAsync(new GetObjectRequest
        {
            BucketName = _bucket, Key = key, ByteRange = new ByteRange(offset, offset + into.Length - 1),
        }, cancel)).ConfigureAwait(false);
        await ObjectRequests.ReadExactlyAsync(response.ResponseStream, into, key, offset, cancel).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancel)
    {
        var keys = new List<string>();
        await foreach (var page in Pages(prefix, delimiter: null, cancel).ConfigureAwait(false))
            keys.AddRange((page.S3Objects ?? []).Select(o => o.Key));
        keys.Sort(StringComparer.Ordinal);
        return keys;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> ListDirectoriesAsync(string prefix, CancellationToken cancel)
    {
        var names = new List<string>();
        await foreach (var page in Pages(prefix, delimiter: "/", cancel).ConfigureAwait(false))
            names.AddRange((page.CommonPrefixes ?? []).Select(p => p[prefix.Length..].TrimEnd('/')));
        names.Sort(StringComparer.Ordinal);
        return names;
    }

    /// <inheritdoc />
    public async Task CopyAsync(string from, string to, bool createOnly, CancellationToken cancel)
    {
        if (createOnly && !HonoursCreateOnly && await LengthAsync(to, cancel).ConfigureAwait(false) is not null)
            throw new ObjectStoreException(ObjectErrorKind.AlreadyExists, $"{Describe}: {to}: exists already (looked before copying: this service ignores If-None-Match)");
        await Call(to, () => _s3.CopyObjectAsync(new CopyObjectRequest
        {
            SourceBucket = _bucket, SourceKey = from, DestinationBucket = _bucket, DestinationKey = to, IfNoneMatch = createOnly ? "*" : null,
        }, cancel)).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task DeleteAsync(string key, CancellationToken cancel)
    {
        try
        {
            await Call(key, () => _s3.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _bucket, Key = key }, cancel)).ConfigureAwait(false);
        }
        catch (ObjectStoreException e) when (e.Kind == ObjectErrorKind.NotFound)
        {
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Against an endpoint address (an S3-compatible server) the baseline is the SDK's own multipart
    /// calls, parts in parallel as <c>TransferUtility</c> sends them, without aws-chunked bodies:
    /// <c>TransferUtility</c> always sends those, and s3rver stores them as they come (a 268 MB
    /// upload came back 296,750 bytes longer, chunk signatures and all).
    /// </remarks>
    public async Task SdkUploadAsync(string key, Stream data, int partSize, int parallelism, CancellationToken cancel)
    {
        if (!_endpointAddress)
        {
            using var transfer = new TransferUtility(_s3, new TransferUtilityConfig { ConcurrentServiceRequests = parallelism });
            await transfer.UploadAsync(new TransferUtilityUploadRequest { BucketName = _bucket, Key = key, InputStream = data, PartSize = partSize, AutoCloseStream = false }, cancel).ConfigureAwait(false);
            return;
        }
        var bytes = data is MemoryStream m && m.TryGetBuffer(out var buffer) ? buffer : new ArraySegment<byte>(ReadAll(data));
        var id = (await _s3.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = _bucket, Key = key }, cancel).ConfigureAwait(false)).UploadId;
        var count = Math.Max(1, (bytes.Count + partSize - 1) / partSize);
        var tags = new PartETag[count];
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancel }, async (part, c) =>
        {
            var offset = part * partSize;
            var length = Math.Min(partSize, bytes.Count - offset);
            var response = await _s3.UploadPartAsync(new UploadPartRequest
            {
                BucketName = _bucket, Key = key, UploadId = id, PartNumber = part + 1, PartSize = length, UseChunkEncoding = false,
                InputStream = new MemoryStream(bytes.Array!, bytes.Offset + offset, length, writable: false),
            }, c).ConfigureAwait(false);
            tags[part] = new PartETag(part + 1, response.ETag);
        }).ConfigureAwait(false);
        await _s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest { BucketName = _bucket, Key = key, UploadId = id, PartETags = tags.ToList() }, cancel).ConfigureAwait(false);

        static byte[] ReadAll(Stream stream)
        {
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            return copy.ToArray();
        }
    }

    /// <inheritdoc />
    public async Task SdkDownloadAsync(string key, Stream into, int partSize, int parallelism, CancellationToken cancel)
    {
        using var transfer = new TransferUtility(_s3, new TransferUtilityConfig { ConcurrentServiceRequests = parallelism });
        using var response = await transfer.OpenStreamWithResponseAsync(new TransferUtilityOpenStreamRequest
        {
            BucketName = _bucket, Key = key, PartSize = partSize, MultipartDownloadType = MultipartDownloadType.RANGE, MaxInMemoryParts = parallelism,
        }, cancel).ConfigureAwait(false);
        await response.ResponseStream.CopyToAsync(into, cancel).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _s3.Dispose();
        _http?.Dispose();
    }

    private async IAsyncEnumerable<ListObjectsV2Response> Pages(string prefix, string? delimiter, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancel)
    {
        string? token = null;
        while (true)
        {
            var page = await Call(prefix, () => _s3.ListObjectsV2Async(new ListObjectsV2Request
            {
                BucketName = _bucket, Prefix = prefix, Delimiter = delimiter, ContinuationToken = token,
            }, cancel)).ConfigureAwait(false);
            yield return page;
            if (page.IsTruncated != true) yield break;
            token = page.NextContinuationToken;
        }
    }

    /// <summary>Runs a request, its failures classified (<see cref="Classify"/>).</summary>
    private Task<T> Call<T>(string key, Func<Task<T>> request) => ObjectRequests.Classified(request, e => Classify(e, key));

    private Task Call(string key, Func<Task> request) => ObjectRequests.Classified(request, e => Classify(e, key));

    /// <summary>What a failure means for a retry, as one line naming the bucket, the key and the service's answer; null for a cancellation the caller asked for.</summary>
    private ObjectStoreException? Classify(Exception e, string key)
    {
        var where = key.Length == 0 ? Describe : $"{Describe}: {key}";
        switch (e)
        {
            case AmazonS3Exception s3:
            {
                var status = (int)s3.StatusCode;
                var code = s3.ErrorCode ?? "";
                var kind = code switch
                {
                    "NoSuchBucket" => ObjectErrorKind.ContainerMissing,
                    "NoSuchKey" or "NoSuchUpload" => ObjectErrorKind.NotFound,
                    "InvalidAccessKeyId" or "SignatureDoesNotMatch" or "AccessDenied" or "InvalidToken" or "ExpiredToken" => ObjectErrorKind.Unauthorized,
                    "PreconditionFailed" => ObjectErrorKind.AlreadyExists,
                    // Another conditional write of the key is under way: a retry ends as 412 or success.
                    "ConditionalRequestConflict" => ObjectErrorKind.Transient,
                    "BadDigest" or "InvalidDigest" or "XAmzContentSHA256Mismatch" => ObjectErrorKind.ChecksumRefused,
                    "SlowDown" or "Throttling" or "ThrottlingException" or "RequestLimitExceeded" or "ServiceUnavailable" => ObjectErrorKind.Throttled,
                    _ => status switch
                    {
                        404 => ObjectErrorKind.NotFound,
                        403 => ObjectErrorKind.Unauthorized,
                        412 => ObjectErrorKind.AlreadyExists,
                        429 or 503 => ObjectErrorKind.Throttled,
                        >= 500 => ObjectErrorKind.Transient,
                        _ => ObjectErrorKind.Permanent,
                    },
                };
                var what = kind == ObjectErrorKind.Unauthorized ? ": the credentials were refused" : "";
                return new ObjectStoreException(kind, $"{where}: {status} {code}{what}: {OneLine(s3.Message)}", RetryAfter(s3), s3);
            }
            case AmazonServiceException service:
                return new ObjectStoreException((int)service.StatusCode >= 500 || service.StatusCode == 0 ? ObjectErrorKind.Transient : ObjectErrorKind.Permanent,
                    $"{where}: {(int)service.StatusCode} {service.ErrorCode}: {OneLine(service.Message)}", inner: service);
            case HttpRequestException or IOException or AmazonClientException or TimeoutException:
                return new ObjectStoreException(ObjectErrorKind.Transient, $"{where}: {OneLine(e.Message)}", inner: e);
            default:
                return null;
        }
    }

    private static TimeSpan? RetryAfter(AmazonServiceException e) =>
        e.InnerException is Amazon.Runtime.Internal.HttpErrorResponseException { Response: { } response }
        && response.IsHeaderPresent("Retry-After") && int.TryParse(response.GetHeaderValue("Retry-After"), out var seconds)
            ? TimeSpan.FromSeconds(seconds)
            : null;

    private static string OneLine(string? s) => (s ?? "").ReplaceLineEndings(" ").Trim();

    private static string Md5(ReadOnlySpan<byte> data) => Convert.ToBase64String(MD5.HashData(data));

    /// <summary>Hands the SDK one HttpClient (the tests' wrapped handler).</summary>
    private sealed class FixedHttpClientFactory(HttpClient client) : HttpClientFactory
    {
        public override HttpClient CreateHttpClient(IClientConfig clientConfig) => client;

        public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => false;

        public override bool DisposeHttpClientsAfterUse(IClientConfig clientConfig) => false;
    }
}
