using Akka.Configuration;

namespace ActorCkpt;

/// <summary>Reads <c>actorckpt.object-store</c> (reference.conf documents each key) into <see cref="ObjectStoreOptions"/>, refusing values out of range with one line naming the key.</summary>
internal static class ObjectStoreConfig
{
    /// <summary>The object-store options <paramref name="config"/> gives (over the defaults).</summary>
    public static ObjectStoreOptions Of(Config config)
    {
        // Section over section: the whole config may have the defaults as its fallback already, and Akka refuses one twice.
        var defaults = ActorCkptConfig.Defaults.GetConfig("actorckpt.object-store");
        var c = config.GetConfig("actorckpt.object-store") is { IsEmpty: false } given ? given.WithFallback(defaults) : defaults;
        var partSize = c.GetByteSize("part-size") ?? 0;
        if (partSize is < 5L << 20 or > 1L << 30)
            throw new ConfigurationException($"actorckpt.object-store.part-size = {partSize}: must be between 5 MiB (S3's smallest part) and 1 GiB");
        var parallelism = c.GetInt("parallelism");
        if (parallelism is < 1 or > 256) throw new ConfigurationException($"actorckpt.object-store.parallelism = {parallelism}: must be between 1 and 256");
        var retries = c.GetInt("retries");
        if (retries is < 0 or > 100) throw new ConfigurationException($"actorckpt.object-store.retries = {retries}: must be between 0 and 100");
        var backoff = c.GetTimeSpan("retry-backoff");
        ActorCkptSettings.RequireTimer(backoff, "object-store.retry-backoff");
        var timeout = c.GetTimeSpan("request-timeout");
        ActorCkptSettings.RequireTimer(timeout, "object-store.request-timeout");
        var blockChecksum = c.GetString("azure-block-checksum") switch
        {
            "crc64" => AzureBlockChecksum.Crc64,
            "md5" => AzureBlockChecksum.Md5,
            var other => throw new ConfigurationException($"actorckpt.object-store.azure-block-checksum = '{other}': must be crc64 or md5"),
        };
        var endpoint = OrNull(c.GetString("endpoint"));
        // Absolute is not enough: on Linux "/path" reads as a file URI, and "localhost:9000" as scheme "localhost".
        if (endpoint is not null && !(Uri.TryCreate(endpoint, UriKind.Absolute, out var url) && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps)))
            throw new ConfigurationException($"actorckpt.object-store.endpoint = '{endpoint}': must be an absolute http or https URL (http://127.0.0.1:10000/devstoreaccount1, https://s3.example.com)");
        return new ObjectStoreOptions
        {
            Endpoint = endpoint,
            AzureConnectionString = OrNull(c.GetString("azure-connection-string")),
            AccessKeyId = OrNull(c.GetString("access-key-id")),
            SecretAccessKey = OrNull(c.GetString("secret-access-key")),
            Region = OrNull(c.GetString("region")),
            CreateMissing = c.GetBoolean("create-missing"),
            PartSize = (int)partSize,
            Parallelism = parallelism,
            AzureBlockChecksum = blockChecksum,
            Retries = retries,
            RetryBackoff = backoff,
            RequestTimeout = timeout,
            StateDirectory = OrNull(c.GetString("state-directory")),
        };

        static string? OrNull(string? s) => string.IsNullOrEmpty(s) ? null : s;
    }
}
