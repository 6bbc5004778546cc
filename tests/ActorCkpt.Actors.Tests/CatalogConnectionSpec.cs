using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.Configuration;
using Microsoft.Data.Sqlite;

namespace ActorCkpt.Actors.Tests;

/// <summary>The catalog's connection string is built, not concatenated, and its file is refused when it is a link or not a file.</summary>
public sealed class CatalogConnectionSpec : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "actorckpt-catalog-" + Guid.NewGuid().ToString("N"));

    public CatalogConnectionSpec() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (string Provider, string Connection) Connection(string root, string hocon = "") =>
        ActorCkptConfig.CatalogConnection(ConfigurationFactory.ParseString(hocon), root);

    [Fact]
    public async Task A_root_whose_name_holds_a_connection_string_should_keep_its_catalog_inside_the_root()
    {
        // Concatenated, "Data Source=<root>/catalog.db" would name the catalog twice, the second time in "evil".
        var evil = Path.Combine(_dir, "evil");
        Directory.CreateDirectory(evil);
        var root = Path.Combine(_dir, "run;Data Source=" + evil);
        Directory.CreateDirectory(root);
        var (provider, connection) = Connection(root);
        Assert.Equal("SQLite.MS", provider);
        Assert.Equal(Path.Combine(root, "catalog.db"), new SqliteConnectionStringBuilder(connection).DataSource);

        // A save through the journal lands the catalog in the root, and nothing at the injected path.
        var config = ActorCkptConfig.WithCatalog(ConfigurationFactory.ParseString("akka.loglevel = WARNING").WithFallback(ActorCkptConfig.Defaults), root);
        using var system = ActorSystem.Create("catalog-in-root", config);
        var node = CheckpointNode.Start(system, new LocalBlobStore(root), ActorCkptSettings.Create(system), "n");
        var states = TestStates.Build(TestStates.Model(new[] { DType.Float32 }, new[] { Layout.Rows }), 1, seed: 3);
        await node.Save(1, states[0]).Committed.WaitAsync(TimeSpan.FromSeconds(60));
        await system.Terminate().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(File.Exists(Path.Combine(root, "catalog.db")));
        Assert.Empty(Directory.GetFileSystemEntries(evil));
    }

    [Fact]
    public async Task A_catalog_file_named_by_the_configuration_should_be_closed_once_the_system_is_gone()
    {
        // Pooled (the builder's default), Microsoft.Data.Sqlite keeps the file open after the system terminates.
        var file = Path.Combine(_dir, "named.db");
        var hocon = $"akka.loglevel = WARNING\nactorckpt.catalog.connection-string = \"Data Source={file}\"";
        Assert.False(new SqliteConnectionStringBuilder(Connection(_dir, hocon).Connection).Pooling);

        var config = ActorCkptConfig.WithCatalog(ConfigurationFactory.ParseString(hocon).WithFallback(ActorCkptConfig.Defaults), _dir);
        using (var system = ActorSystem.Create("catalog-named", config))
        {
            var node = CheckpointNode.Start(system, new LocalBlobStore(_dir), ActorCkptSettings.Create(system), "n");
            var states = TestStates.Build(TestStates.Model(new[] { DType.Float32 }, new[] { Layout.Rows }), 1, seed: 3);
            await node.Save(1, states[0]).Committed.WaitAsync(TimeSpan.FromSeconds(60));
            await system.Terminate().WaitAsync(TimeSpan.FromSeconds(30));
        }

        Assert.True(File.Exists(file));
        Assert.DoesNotContain(OpenFiles(), f => f.StartsWith(file, StringComparison.Ordinal));
    }

    /// <summary>What this process's descriptors point at.</summary>
    private static List<string> OpenFiles() =>
        Directory.GetFiles("/proc/self/fd").Select(fd => { try { return new FileInfo(fd).LinkTarget ?? ""; } catch (IOException) { return ""; } }).ToList();

    [Fact]
    public void The_root_s_own_catalog_file_spelled_otherwise_should_still_count_as_in_the_root()
    {
        // Before, "ROOT//catalog.db" counted as a file elsewhere: the root was marked, and a rebuild rekeyed it instead of swapping the file.
        foreach (var spelled in new[] { "", $"Data Source={_dir}//catalog.db", $"Data Source={_dir}/./catalog.db" })
            Assert.True(ActorCkptConfig.CatalogInRoot(ConfigurationFactory.ParseString($"actorckpt.catalog.connection-string = \"{spelled}\"").WithFallback(ActorCkptConfig.Defaults), _dir + "/"), spelled);
        Assert.False(ActorCkptConfig.CatalogInRoot(ConfigurationFactory.ParseString($"actorckpt.catalog.connection-string = \"Data Source={_dir}/other.db\"").WithFallback(ActorCkptConfig.Defaults), _dir));
    }

    [Fact]
    public void A_root_named_with_a_trailing_slash_should_be_the_same_root()
    {
        // Before, every path under "ROOT/" was refused: "'catalog.id' leads outside the checkpoint directory 'ROOT/'".
        var store = new CheckpointStore(new LocalBlobStore(_dir + "/"));
        Assert.Equal(_dir, store.Blobs.Root);
        Assert.Equal(store.RootId(), new CheckpointStore(new LocalBlobStore(_dir)).RootId());
    }

    [Fact]
    public void A_catalog_file_named_by_a_relative_path_should_be_refused()
    {
        // Before: each process (the node, a later `actorckpt ls` elsewhere) opened a catalog of its own working directory.
        var e = Assert.Throws<ConfigurationException>(() => Connection(_dir, "actorckpt.catalog.connection-string = \"Data Source=state/catalog.db\""));
        Assert.Equal("actorckpt.catalog.connection-string: Data Source 'state/catalog.db' is a relative path, which each process would resolve against its own working directory: give an absolute path", e.Message);
    }

    [Theory]
    [InlineData("Data Source=", "Data Source ''")]
    [InlineData("Data Source=:memory:", "Data Source ':memory:'")]
    [InlineData("Data Source=catalog;Mode=Memory;Cache=Shared", "Data Source 'catalog' with Mode=Memory")]
    public void A_temporary_catalog_database_should_be_refused(string connection, string named)
    {
        // Before: accepted at start; the first save failed, the planner's catalog "could not be recovered: no such table: snapshot".
        var e = Assert.Throws<ConfigurationException>(() => Connection(_dir, $"actorckpt.catalog.connection-string = \"{connection}\""));
        Assert.Equal($"actorckpt.catalog.connection-string: {named} is a temporary database, which the catalog cannot be: it must outlive the process. Give the path of a file", e.Message);
    }

    [Fact]
    public void A_catalog_that_is_a_symbolic_link_should_be_refused_naming_it_and_its_target()
    {
        var elsewhere = Path.Combine(_dir, "other.db");
        File.WriteAllBytes(elsewhere, Array.Empty<byte>());
        var link = Path.Combine(_dir, "catalog.db");
        File.CreateSymbolicLink(link, elsewhere);
        var e = Assert.Throws<ConfigurationException>(() => Connection(_dir));
        Assert.Equal($"the catalog '{link}' is a symbolic link to '{elsewhere}'; ActorCkpt does not follow it: put the database file itself there", e.Message);
    }

    [Fact]
    public void A_catalog_path_longer_than_SQLite_opens_should_be_refused_naming_it_and_one_at_the_bound_should_open()
    {
        // A root whose catalog path is exactly the bound: SQLite writes it (journal and all).
        var atBound = RootWithCatalogPathOf(CatalogFile.MaxPathBytes);
        var (_, connection) = Connection(atBound);
        using (var db = new SqliteConnection(connection))
        {
            db.Open();
            using var write = db.CreateCommand();
            write.CommandText = "CREATE TABLE t (a); INSERT INTO t VALUES (1);";
            write.ExecuteNonQuery();
        }

        // One byte longer: SQLite cannot open it ("unable to open database file"; the planner retried that for two minutes).
        var over = RootWithCatalogPathOf(CatalogFile.MaxPathBytes + 1);
        var raw = new SqliteConnectionStringBuilder { DataSource = Path.Combine(over, "catalog.db"), Pooling = false }.ToString();
        using (var db = new SqliteConnection(raw))
            Assert.Equal(14, Assert.ThrowsAny<SqliteException>(() => db.Open()).SqliteErrorCode);

        var e = Assert.Throws<ConfigurationException>(() => Connection(over));

        Assert.Equal($"the catalog '{Path.Combine(over, "catalog.db")}' is a path of {CatalogFile.MaxPathBytes + 1} bytes, and SQLite opens a catalog at a path of at most {CatalogFile.MaxPathBytes}: " +
                     "use a shorter checkpoint root, or put the catalog elsewhere (actorckpt.catalog.connection-string)", e.Message);
    }

    /// <summary>A new root under the spec's folder whose catalog.db path is <paramref name="bytes"/> long (folder names of 200 at most).</summary>
    private string RootWithCatalogPathOf(int bytes)
    {
        var root = Path.Combine(_dir, bytes.ToString());
        // Each folder adds '/' and its name; none is left with one byte to fill, which no folder can take.
        for (var left = bytes - root.Length - "/catalog.db".Length; left > 0;)
        {
            var take = left - 201 == 1 ? 200 : Math.Min(201, left);
            root = Path.Combine(root, new string('d', take - 1));
            left -= take;
        }
        Directory.CreateDirectory(root);
        Assert.Equal(bytes, Path.Combine(root, "catalog.db").Length);
        return root;
    }

    [Fact]
    public async Task A_catalog_whose_folder_takes_no_new_file_should_fail_the_node_s_start_at_once_naming_it()
    {
        // /proc takes no new file, as root too: before, every start of the planner failed for two minutes, flooding the log.
        const string catalog = "/proc/actorckpt-catalog.db";
        var config = ActorCkptConfig.WithCatalog(ConfigurationFactory.ParseString($"akka.loglevel = WARNING\nactorckpt.catalog.connection-string = \"Data Source={catalog}\"")
            .WithFallback(ActorCkptConfig.Defaults), _dir);
        using var system = ActorSystem.Create("catalog-not-creatable", config);

        var e = await Assert.ThrowsAsync<ConfigurationException>(() =>
            Task.Run(() => CheckpointNode.Start(system, new LocalBlobStore(_dir), ActorCkptSettings.Create(system), "n")).WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Equal($"the catalog '{catalog}' cannot be created: its folder '/proc' takes no new file (Could not find file '{catalog}'.)", e.Message);
        Assert.False(File.Exists(catalog));
        await system.Terminate().WaitAsync(TimeSpan.FromSeconds(30));
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int mkfifo([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode);

    [Fact]
    public void A_catalog_that_is_a_FIFO_should_be_refused_as_such()
    {
        // Before, the tool called it 'not a SQLite database (0 bytes, no SQLite header)', and a node's start handed it to SQLite.
        var fifo = Path.Combine(_dir, "catalog.db");
        Assert.Equal(0, mkfifo(fifo, 0b110_100_100));

        var e = Assert.Throws<ConfigurationException>(() => Connection(_dir));

        Assert.Equal($"the catalog '{fifo}' is a FIFO, not a database file", e.Message);
    }

    [Theory]
    [InlineData("-journal", "fifo")]
    [InlineData("-wal", "link")]
    public void A_file_SQLite_keeps_beside_the_catalog_that_is_not_regular_should_be_refused_naming_it(string suffix, string kind)
    {
        // Before, a FIFO named catalog.db-journal hung every command, the read-only ones too: SQLite opened it and waited.
        var companion = Path.Combine(_dir, "catalog.db" + suffix);
        if (kind == "fifo") Assert.Equal(0, mkfifo(companion, 0b110_100_100));
        else File.CreateSymbolicLink(companion, Path.Combine(_dir, "elsewhere"));

        var e = Assert.Throws<ConfigurationException>(() => Connection(_dir));

        Assert.Equal($"the catalog's '{companion}' is {(kind == "fifo" ? "a FIFO" : "a symbolic link")}, not a regular file: remove it (SQLite makes its own)", e.Message);
    }

    [Fact]
    public void A_catalog_that_is_a_directory_should_be_refused()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "catalog.db"));
        var e = Assert.Throws<ConfigurationException>(() => Connection(_dir));
        Assert.Equal($"the catalog '{Path.Combine(_dir, "catalog.db")}' is a directory, not a database file", e.Message);
    }

    [Fact]
    public void A_connection_string_of_the_configuration_should_be_parsed_by_its_provider_s_builder()
    {
        var link = Path.Combine(_dir, "named.db");
        File.CreateSymbolicLink(link, Path.Combine(_dir, "x.db"));
        Assert.Throws<ConfigurationException>(() => Connection(_dir, $"actorckpt.catalog.connection-string = \"Data Source={link}\""));
        Assert.StartsWith("actorckpt.catalog.connection-string does not parse: ",
            Assert.Throws<ConfigurationException>(() => Connection(_dir, "actorckpt.catalog.connection-string = \"Data Sauce=x\"")).Message);
        Assert.StartsWith("actorckpt.catalog.connection-string does not parse: ",
            Assert.Throws<ConfigurationException>(() => Connection(_dir, "actorckpt.catalog { provider = postgres, connection-string = \"Host=h;Bogus Key=1\" }")).Message);
        var (provider, connection) = Connection(_dir, "actorckpt.catalog { provider = postgres, connection-string = \"Host=h;Username=u;Database=d\" }");
        // Unpooled unless the string says how to pool: a pooled connection a server restart ended failed the next save.
        Assert.Equal(("PostgreSQL.15", "Host=h;Username=u;Database=d;Pooling=False"), (provider, connection));
    }

    [Fact]
    public async Task A_damaged_catalog_should_fail_the_node_s_start_at_once_in_one_line()
    {
        var catalog = Path.Combine(_dir, "catalog.db");
        File.WriteAllBytes(catalog, Enumerable.Range(0, 4096).Select(i => (byte)(i * 7)).ToArray());
        var config = ActorCkptConfig.WithCatalog(ConfigurationFactory.ParseString("akka.loglevel = OFF").WithFallback(ActorCkptConfig.Defaults), _dir);
        using var system = ActorSystem.Create("damaged-catalog", config);
        var e = Assert.Throws<ActorCkptException>(() => CheckpointNode.Start(system, new LocalBlobStore(_dir), ActorCkptSettings.Create(system), "n"));
        Assert.Equal($"the catalog '{catalog}' is damaged (SQLite Error 26: 'file is not a database'.); a new one is made from the checkpoints on disk, verifying each, by: actorckpt catalog rebuild {_dir}", e.Message);
        // Nothing was started: no planner retries in the background.
        await Assert.ThrowsAsync<ActorNotFoundException>(() => system.ActorSelection("/user/n-planner").ResolveOne(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task A_catalog_file_named_in_a_folder_that_does_not_exist_should_fail_the_planner_node_s_start_naming_the_key()
    {
        var file = Path.Combine(_dir, "missing", "x.db");
        var hocon = $"actorckpt.catalog.connection-string = \"Data Source={file}\"\nakka.loglevel = OFF";
        // Only the node that opens the catalog needs the folder: the configuration itself is fine anywhere.
        Connection(_dir, hocon);
        var config = ActorCkptConfig.WithCatalog(ConfigurationFactory.ParseString(hocon).WithFallback(ActorCkptConfig.Defaults), _dir);
        using var system = ActorSystem.Create("missing-folder", config);

        // Before, the planner failed every start and the node's start ended two minutes later in an unnamed timeout.
        var e = Assert.Throws<ConfigurationException>(() => CheckpointNode.Start(system, new LocalBlobStore(_dir), ActorCkptSettings.Create(system), "n"));
        Assert.Equal($"actorckpt.catalog.connection-string: the catalog '{file}' cannot be made, its folder '{Path.Combine(_dir, "missing")}' does not exist", e.Message);
        await Assert.ThrowsAsync<ActorNotFoundException>(() => system.ActorSelection("/user/n-planner").ResolveOne(TimeSpan.FromSeconds(5)));
    }

    [Theory]
    [InlineData("actorckpt.writer.dispatcher")]
    [InlineData("actorckpt.planner.dispatcher")]
    public async Task A_dispatcher_the_system_does_not_have_should_fail_the_node_s_start_naming_the_key(string key)
    {
        var e = await StartRefusedAsync("no-dispatcher", $"{key} = nonexistent-dispatcher");
        Assert.Equal($"{key} = 'nonexistent-dispatcher': actor system 'no-dispatcher' has no dispatcher of that name", e.Message);
    }

    [Theory]
    [InlineData("actorckpt.writer.dispatcher")]
    [InlineData("actorckpt.planner.dispatcher")]
    public async Task A_dispatcher_of_a_type_that_cannot_be_made_should_fail_the_node_s_start_naming_the_key(string key)
    {
        var e = await StartRefusedAsync("bad-dispatcher", $"{key} = odd-dispatcher", "odd-dispatcher { type = \"No.Such.Dispatcher, NoSuchAssembly\" }");
        // Before: the start went on, and every writer (or the planner) failed to start until the save timed out.
        Assert.StartsWith($"{key} = 'odd-dispatcher': the dispatcher cannot be made: ", e.Message);
        Assert.Contains("No.Such.Dispatcher", e.Message);
    }

    /// <summary>
    /// Starts a node on a system named <paramref name="name"/> (its own configuration <paramref name="system"/>
    /// over the defaults) with <paramref name="settings"/> over that; the refusal of its start, after
    /// checking that no planner was started.
    /// </summary>
    private async Task<ConfigurationException> StartRefusedAsync(string name, string settings, string system = "")
    {
        var config = ActorCkptConfig.WithCatalog(ConfigurationFactory.ParseString("akka.loglevel = OFF\n" + system).WithFallback(ActorCkptConfig.Defaults), _dir);
        using var actors = ActorSystem.Create(name, config);
        var e = Assert.Throws<ConfigurationException>(() =>
            CheckpointNode.Start(actors, new LocalBlobStore(_dir), ActorCkptSettings.Create(ConfigurationFactory.ParseString(settings).WithFallback(config)), "n"));
        await Assert.ThrowsAsync<ActorNotFoundException>(() => actors.ActorSelection("/user/n-planner").ResolveOne(TimeSpan.FromSeconds(5)));
        return e;
    }

    [Theory]
    [InlineData("certificate")]
    [InlineData("key")]
    [InlineData("trust")]
    public async Task A_channel_TLS_file_that_is_a_directory_should_fail_the_node_s_start_saying_so(string which)
    {
        var certificate = WriteCertificate();
        var (key, trust) = (Path.ChangeExtension(certificate, ".key"), certificate);
        var folder = Path.Combine(_dir, "a-folder");
        Directory.CreateDirectory(folder);
        if (which == "certificate") certificate = folder;
        else if (which == "key") key = folder;
        else trust = folder;

        // Before: "cannot load '…': ASN1 corrupted data", or for the key a complaint about the certificate.
        var e = await StartRefusedAsync("tls-folder", $"actorckpt.transfer.channel.tls {{ enabled = on, certificate = \"{certificate}\", key = \"{key}\", trust = \"{trust}\" }}");
        Assert.Equal($"actorckpt.transfer.channel.tls.{which}: '{folder}' is a directory, not a PEM file", e.Message);
    }

    [Theory]
    [InlineData("certificate")]
    [InlineData("trust")]
    public async Task A_channel_TLS_file_that_cannot_be_read_should_fail_the_node_s_start_naming_it(string missing)
    {
        var nope = Path.Combine(_dir, "nope.pem");
        var (certificate, trust) = missing == "certificate" ? (nope, "") : (WriteCertificate(), nope);

        // Before: the node started, and the first save failed every file after the writers' retries (some 20 s), each naming the file.
        var e = await StartRefusedAsync("bad-tls",
            $"actorckpt.transfer.channel.tls {{ enabled = on, certificate = \"{certificate}\", key = \"{Path.ChangeExtension(certificate, ".key")}\", trust = \"{trust}\" }}");
        Assert.StartsWith(missing == "certificate"
            ? $"actorckpt.transfer.channel.tls: cannot load the certificate '{nope}' with key '{Path.ChangeExtension(nope, ".key")}': "
            : $"actorckpt.transfer.channel.tls.trust: cannot load '{nope}': ", e.Message);
    }

    /// <summary>A self-signed certificate and its key as PEM files under the test's folder; the certificate's path (the key's ends in .key).</summary>
    private string WriteCertificate() => SelfSignedCertificate.Write(_dir, "node").Cert;

    [Fact]
    public async Task A_memory_tier_of_more_than_one_copy_outside_a_cluster_should_fail_the_node_s_start_naming_the_key()
    {
        var e = await StartRefusedAsync("one-host", $"actorckpt.tiers.memory {{ enabled = on, host = h0, directory = \"{_dir}/shm\" }}");
        Assert.Equal("actorckpt.tiers.memory.replicas = 2: a node outside a cluster is one host and holds one copy; set replicas = 1 or join the nodes in a cluster", e.Message);
    }

    [Fact]
    public async Task Loads_through_readers_outside_a_cluster_should_fail_the_node_s_start_naming_the_key()
    {
        // Before: accepted, and every load waited out planner.write-timeout (10 minutes) for a reader no such node runs.
        var e = await StartRefusedAsync("no-readers", "actorckpt.load.source = reader");
        Assert.Equal("actorckpt.load.source = reader: a node outside a cluster runs no reader, and reads its own files; set load.source = shared or join the nodes in a cluster", e.Message);
    }
}
