namespace ActorCkpt.Io.Tests;

/// <summary>An object store nobody answers for: opening a root fails in one line that says so, with no status the service never sent.</summary>
public sealed class EndpointDownSpec
{
    [Fact]
    public void An_azure_endpoint_that_refuses_connections_should_be_named_without_a_status_0()
    {
        var port = LoopbackPort.Free();
        var options = new ObjectStoreOptions
        {
            AzureConnectionString = $"DefaultEndpointsProtocol=http;AccountName={ObjectEmulators.AzuriteAccount};AccountKey={ObjectEmulators.AzuriteKey};BlobEndpoint=http://127.0.0.1:{port}/{ObjectEmulators.AzuriteAccount};",
            Retries = 0,
        };

        // Before: "…/devstoreaccount1): 0 : Connection refused (127.0.0.1:…)", the 0 a status no answer carried.
        var e = Assert.ThrowsAny<ObjectStoreException>(() => BlobStores.Open("az://nobody-home/job", options));

        Assert.Contains("Connection refused", e.Message);
        Assert.DoesNotContain("): 0 ", e.Message);
    }
}
