using System.Collections;

namespace ActorCkpt;

/// <summary>
/// How to reach and use an object store: endpoint and credentials (from configuration, else the
/// usual environment variables), whether a missing container is created, and the shape of
/// uploads. Memory held by one file's upload is at most <see cref="PartSize"/> ×
/// (<see cref="Parallelism"/> + the parts still being filled).
/// </summary>
internal sealed record ObjectStoreOptions
{
    /// <summary>The service's address (an emulator's, say); null: Azure from the connection string, S3 from the region.</summary>
    public string? Endpoint { get; init; }

    /// <summary>Azure: a storage connection string (AZURE_STORAGE_CONNECTION_STRING).</summary>
    public string? AzureConnectionString { get; init; }

    /// <summary>S3: the access key id (AWS_ACCESS_KEY_ID).</summary>
    public string? AccessKeyId { get; init; }

    /// <summary>S3: the secret access key (AWS_SECRET_ACCESS_KEY).</summary>
    public string? SecretAccessKey { get; init; }

    /// <summary>S3: the region (AWS_REGION); us-east-1 when none is given.</summary>
    public string? Region { get; init; }

    /// <summary>Create a missing container or bucket instead of refusing the root.</summary>
    public bool CreateMissing { get; init; }

    /// <summary>Bytes per uploaded part (S3 multipart part, Azure block); at least 5 MiB.</summary>
    public int PartSize { get; init; } = 16 << 20;

    /// <summary>Parts of one file uploaded at once; also ranged GETs of one read at once.</summary>
    public int Parallelism { get; init; } = 4;

    /// <summary>Azure: the checksum every staged block carries for the service to check.</summary>
    public AzureBlockChecksum AzureBlockChecksum { get; init; } = AzureBlockChecksum.Crc64;

    /// <summary>Retries of one request that failed in a way a retry may cure.</summary>
    public int Retries { get; init; } = 6;

    /// <summary>The first retry's wait; each next one doubles, with jitter.</summary>
    public TimeSpan RetryBackoff { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The longest a single request may take before it counts as failed and is retried.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(100);

    /// <summary>
    /// The local directory that holds what an object store cannot: the catalog's SQLite file, the
    /// root's lock, metadata staged before its create-only upload. Null: one directory per root URI
    /// under the user's data directory (<see cref="ObjectRootState.DefaultDirectory"/>).
    /// </summary>
    public string? StateDirectory { get; init; }

    /// <summary>Where a retried request is told of (the node's log, once attached): a stalled store is otherwise silent for up to <see cref="Retries"/> + 1 request timeouts.</summary>
    public StoreNotices Notices { get; init; } = new();

    /// <summary>Tests: wraps the HTTP handler every request goes through (fault injection, request counts).</summary>
    public Func<HttpMessageHandler, HttpMessageHandler>? WrapHandler { get; init; }

    /// <summary>
    /// These options with what they leave unset for <paramref name="service"/> taken from
    /// <paramref name="environment"/> (the process's when null): configuration wins over the environment.
    /// </summary>
    public ObjectStoreOptions WithEnvironment(ObjectService service, IDictionary? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariables();
        string? Get(string name) => environment[name] is string { Length: > 0 } value ? value : null;
        return service == ObjectService.Azure
            ? this with { AzureConnectionString = AzureConnectionString ?? Get("AZURE_STORAGE_CONNECTION_STRING") }
            : this with
            {
                AccessKeyId = AccessKeyId ?? Get("AWS_ACCESS_KEY_ID"),
                SecretAccessKey = SecretAccessKey ?? Get("AWS_SECRET_ACCESS_KEY"),
                Region = Region ?? Get("AWS_REGION") ?? Get("AWS_DEFAULT_REGION"),
                Endpoint = Endpoint ?? EndpointFrom("AWS_ENDPOINT_URL_S3") ?? EndpointFrom("AWS_ENDPOINT_URL"),
            };

        // Checked as actorckpt.object-store.endpoint is: the SDK's own refusal names neither the variable nor the form.
        string? EndpointFrom(string name) => Get(name) is not { } value ? null
            : Uri.TryCreate(value, UriKind.Absolute, out var url) && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps) ? value
            : throw new ActorCkptException($"{name} = '{value}' (environment): must be an absolute http or https URL (http://127.0.0.1:9000, https://s3.example.com)");
    }
}
