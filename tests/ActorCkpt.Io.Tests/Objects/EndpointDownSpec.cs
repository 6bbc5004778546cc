using System.Net;
using System.Net.Sockets;

namespace ActorCkpt.Io.Tests;

/// <summary>An object store nobody answers for: opening a root fails in one line that says so, with no status the service never sent.</summary>
public sealed class EndpointDownSpec
{
    /// <summary>A loopback port nothing listens on (taken, then let go).</summary>
    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [Fact]
    public void An_azure_endpoint_that_refuses_connections_should_be_named_without_a_status_0()
    {
        var port = FreePort();
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
