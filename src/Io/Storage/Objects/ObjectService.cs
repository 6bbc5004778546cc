namespace ActorCkpt;

/// <summary>Which object store a root URI names.</summary>
internal enum ObjectService
{
    /// <summary>Azure Blob Storage: <c>az://container/prefix</c>.</summary>
    Azure,

    /// <summary>Amazon S3 or a service that speaks its API: <c>s3://bucket/prefix</c>.</summary>
    S3,
}
