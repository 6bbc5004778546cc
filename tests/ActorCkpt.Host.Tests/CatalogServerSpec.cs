namespace ActorCkpt.Host.Tests;

/// <summary>
/// A PostgreSQL catalog that cannot be reached fails the start at once, in one line naming the
/// server and the cause. Before: two minutes of planner recoveries timing out, thousands of logged
/// stack traces, and a bare "AskTimeoutException: Timeout after 60.00 seconds" at the end.
/// </summary>
public sealed class CatalogServerSpec : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void A_PostgreSQL_catalog_on_a_port_nothing_listens_on_should_fail_the_start_in_one_line()
    {
        var refused = Assert.Throws<Akka.Configuration.ConfigurationException>(() => Checkpointer.Start(new CheckpointerOptions
        {
            Root = _temp.Path,
            Hocon = "akka.loglevel = OFF",
            Settings = { ["catalog.provider"] = "postgres", ["catalog.connection-string"] = "Host=127.0.0.1;Port=1;Username=u;Password=p;Database=d" },
        }));

        Assert.StartsWith("the catalog's PostgreSQL server 127.0.0.1:1 (database 'd') cannot be reached: Failed to connect to 127.0.0.1:1", refused.Message);
        Assert.EndsWith("(actorckpt.catalog.connection-string)", refused.Message);
        Assert.DoesNotContain('\n', refused.Message);
    }

    [Fact]
    public async Task A_connection_string_with_no_timeout_should_still_be_checked_within_the_checks_own_limit()
    {
        // A server that takes the connection and never answers (a paused one). Timeout=0 is Npgsql's "no limit":
        // before, the check took it as given and the start waited for ever.
        using var silent = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        silent.Start();
        var accepted = silent.AcceptSocketAsync();
        var port = ((System.Net.IPEndPoint)silent.LocalEndpoint).Port;

        var check = Task.Run(() => CatalogServer.Verify($"Host=127.0.0.1;Port={port};Username=u;Password=p;Database=d;Timeout=0"));

        var refused = await Assert.ThrowsAsync<Akka.Configuration.ConfigurationException>(() => check).WaitAsync(TimeSpan.FromMinutes(2));
        Assert.StartsWith($"the catalog's PostgreSQL server 127.0.0.1:{port} (database 'd') cannot be reached: ", refused.Message);
        (await accepted).Dispose();
    }

    [Fact]
    public void A_port_out_of_range_should_be_one_line_naming_the_server()
    {
        // Before: "Specified argument was out of the range of valid values. (Parameter 'port')".
        var refused = Assert.Throws<Akka.Configuration.ConfigurationException>(() => CatalogServer.Verify("Host=127.0.0.1;Port=99999;Username=u;Password=p;Database=d"));
        Assert.StartsWith("the catalog's PostgreSQL server 127.0.0.1:99999 (database 'd') cannot be reached: ", refused.Message);
        Assert.DoesNotContain('\n', refused.Message);
    }

    [Fact]
    public void A_PostgreSQL_catalog_should_open_a_connection_per_write_unless_the_string_says_how_to_pool()
    {
        // A pooled connection a server restart ended failed the next journal write, and the save with it.
        Assert.Contains("Pooling=False", ActorCkptConfig.CatalogConnection(Postgres("Host=h;Username=u;Database=d"), _temp.Path).ConnectionString);
        Assert.Contains("Pooling=True", ActorCkptConfig.CatalogConnection(Postgres("Host=h;Username=u;Database=d;Pooling=true"), _temp.Path).ConnectionString);
    }

    private static Akka.Configuration.Config Postgres(string connection) => Akka.Configuration.ConfigurationFactory.ParseString(
        $"actorckpt.catalog {{ provider = postgres, connection-string = \"{connection}\" }}").WithFallback(ActorCkptConfig.Defaults);
}
