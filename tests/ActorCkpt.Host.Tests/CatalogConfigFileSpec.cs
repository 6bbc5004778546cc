using ActorCkpt.Hosting;

namespace ActorCkpt.Host.Tests;

/// <summary>Advice to rebuild a catalog names the file that configures it, when a host's configuration file does.</summary>
public class CatalogConfigFileSpec : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string File(string name, string text)
    {
        Directory.CreateDirectory(_temp.Path);
        var path = Path.Combine(_temp.Path, name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void A_HoconFile_that_names_the_catalog_should_be_the_file_the_advice_names()
    {
        var file = File("catalog file.conf", $"actorckpt.catalog.connection-string = \"Data Source={Path.Combine(_temp.Path, "c.db")}\"\n");

        var config = new ActorCkptOptions { Root = _temp.Path, HoconFile = file }.ToConfig();

        Assert.Equal(file, ActorCkptConfig.CatalogConfigFile(config));
    }

    [Fact]
    public void A_HoconFile_that_does_not_name_the_catalog_should_not_be_named()
    {
        // The catalog is set in code here: a rebuild given this file would open the root's own catalog.
        var file = File("other.conf", "actorckpt.retention.keep-last = 2\n");

        var config = new ActorCkptOptions { Root = _temp.Path, HoconFile = file, Catalog = { ConnectionString = "Host=db;Username=u;Database=d", Provider = CatalogProvider.PostgreSql } }.ToConfig();

        Assert.Null(ActorCkptConfig.CatalogConfigFile(config));
    }

    [Fact]
    public void A_HoconFile_whose_catalog_the_options_override_should_not_be_named()
    {
        // A rebuild given this file would act on its catalog, not the one the host runs on.
        var file = File("overridden.conf", $"actorckpt.catalog.connection-string = \"Data Source={Path.Combine(_temp.Path, "file.db")}\"\n");

        var config = new ActorCkptOptions { Root = _temp.Path, HoconFile = file, Catalog = { ConnectionString = $"Data Source={Path.Combine(_temp.Path, "code.db")}" } }.ToConfig();

        Assert.Null(ActorCkptConfig.CatalogConfigFile(config));
    }
}
