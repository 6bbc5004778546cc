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
}
