using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace ActorCkpt.Io.Tests;

/// <summary>
/// Azurite (Azure Blob) and s3rver (S3) on 127.0.0.1, each on a free port over a temporary
/// directory, started for a test collection and stopped with it. The npm packages pinned in
/// tools/emulators are installed (<c>npm ci</c>) when missing; without Node.js and npm the fixture
/// fails naming what is missing: these tests are never skipped.
/// </summary>
public sealed class ObjectEmulators : IDisposable
{
    /// <summary>Azurite's well-known development account.</summary>
    public const string AzuriteAccount = "devstoreaccount1";

    /// <summary>Azurite's well-known development key.</summary>
    public const string AzuriteKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    /// <summary>s3rver's fixed credentials.</summary>
    public const string S3rverKey = "S3RVER";

    private static readonly object InstallLock = new();
    private readonly string _data = Path.Combine(Path.GetTempPath(), "actorckpt-emulators-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly List<Process> _servers = new();

    public ObjectEmulators()
    {
        var tools = Path.Combine(RepositoryRoot(), "tools", "emulators");
        Install(tools);
        Directory.CreateDirectory(_data);
        try
        {
            AzuritePort = LoopbackPort.Free();
            Start(Path.Combine(tools, "node_modules", ".bin", "azurite-blob"),
                $"--blobHost 127.0.0.1 --blobPort {AzuritePort} --location {Dir("azurite")} --silent --skipApiVersionCheck --loose --disableTelemetry", AzuritePort);
            S3Port = LoopbackPort.Free();
            Start(Path.Combine(tools, "node_modules", ".bin", "s3rver"),
                $"--address 127.0.0.1 --port {S3Port} --directory {Dir("s3rver")} --silent --no-vhost-buckets", S3Port);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public int AzuritePort { get; }

    public int S3Port { get; }

    /// <summary>Azurite's blob endpoint.</summary>
    public string AzureEndpoint => $"http://127.0.0.1:{AzuritePort}/{AzuriteAccount}";

    /// <summary>The connection string of Azurite's development account.</summary>
    public string AzureConnectionString(string key = AzuriteKey) =>
        $"DefaultEndpointsProtocol=http;AccountName={AzuriteAccount};AccountKey={key};BlobEndpoint={AzureEndpoint};";

    /// <summary>s3rver's endpoint.</summary>
    public string S3Endpoint => $"http://127.0.0.1:{S3Port}";

    /// <summary>Options that reach <paramref name="service"/>'s emulator (credentials as given, the right ones by default).</summary>
    internal ObjectStoreOptions Options(string service, string? key = null) => service == "az"
        ? new ObjectStoreOptions { AzureConnectionString = AzureConnectionString(key ?? AzuriteKey) }
        : new ObjectStoreOptions { Endpoint = S3Endpoint, AccessKeyId = key ?? S3rverKey, SecretAccessKey = key ?? S3rverKey, Region = "us-east-1" };

    /// <summary>The <c>actorckpt.object-store</c> HOCON that reaches <paramref name="service"/>'s emulator.</summary>
    public string Hocon(string service) => service == "az"
        ? $"actorckpt.object-store.azure-connection-string = \"{AzureConnectionString()}\"\n"
        : $"actorckpt.object-store {{ endpoint = \"{S3Endpoint}\", access-key-id = {S3rverKey}, secret-access-key = {S3rverKey}, region = us-east-1 }}\n";

    /// <summary>A container or bucket name no other test uses.</summary>
    public static string NewContainer() => "t" + Guid.NewGuid().ToString("N")[..20];

    public void Dispose()
    {
        foreach (var server in _servers)
        {
            try
            {
                server.Kill(entireProcessTree: true);
                server.WaitForExit();
            }
            catch (InvalidOperationException)
            {
                // Exited already.
            }
            server.Dispose();
        }
        if (Directory.Exists(_data)) Directory.Delete(_data, recursive: true);
    }

    private string Dir(string name)
    {
        var dir = Path.Combine(_data, name);
        Directory.CreateDirectory(dir);
        return dir;
    }

    private void Start(string program, string arguments, int port)
    {
        var info = new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // s3rver 3.7 makes list continuation tokens with a cipher OpenSSL 3 (Node.js 17 and later) keeps in its legacy provider.
        info.Environment["NODE_OPTIONS"] = "--openssl-legacy-provider";
        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {program}");
        _servers.Add(process);
        var stderr = new System.Text.StringBuilder();
        process.ErrorDataReceived += (_, e) => { lock (stderr) stderr.AppendLine(e.Data); };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        // Ready once it accepts a connection; a server that exits first fails with what it said.
        var deadline = Stopwatch.StartNew();
        while (!Accepts(port))
        {
            if (process.HasExited) throw new InvalidOperationException($"{Path.GetFileName(program)} exited with {process.ExitCode} before listening on {port}: {stderr}");
            if (deadline.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException($"{Path.GetFileName(program)} did not listen on 127.0.0.1:{port} within 60 s");
            process.WaitForExit(50);
        }
    }

    private static bool Accepts(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Runs <c>npm ci</c> in <paramref name="tools"/> when its packages are not there (once per process; other processes wait on a lock file).</summary>
    private static void Install(string tools)
    {
        lock (InstallLock)
        {
            if (Installed(tools)) return;
            using var held = new FileStream(Path.Combine(Path.GetTempPath(), "actorckpt-emulators-install.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
            if (Installed(tools)) return;
            ProcessStartInfo info;
            try
            {
                info = new ProcessStartInfo("npm", "ci --no-audit --no-fund --loglevel=error") { WorkingDirectory = tools, RedirectStandardOutput = true, RedirectStandardError = true };
                using var npm = Process.Start(info) ?? throw new InvalidOperationException("npm did not start");
                var err = npm.StandardError.ReadToEndAsync();
                npm.StandardOutput.ReadToEnd();
                npm.WaitForExit();
                if (npm.ExitCode != 0) throw new InvalidOperationException($"npm ci in {tools} failed ({npm.ExitCode}): {err.Result}");
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                throw new InvalidOperationException($"the object-store tests need Node.js and npm to install Azurite and s3rver into {tools} ({e.Message}): install nodejs and npm", e);
            }
        }
    }

    private static bool Installed(string tools) =>
        File.Exists(Path.Combine(tools, "node_modules", ".bin", "azurite-blob")) && File.Exists(Path.Combine(tools, "node_modules", ".bin", "s3rver"));

    private static string RepositoryRoot()
    {
        for (var dir = AppContext.BaseDirectory; dir is not null; dir = Path.GetDirectoryName(dir))
            if (File.Exists(Path.Combine(dir, "ActorCkpt.sln"))) return dir;
        throw new InvalidOperationException($"no ActorCkpt.sln above {AppContext.BaseDirectory}");
    }
}

/// <summary>The test collection sharing one pair of emulators.</summary>
[CollectionDefinition(Name)]
public sealed class ObjectEmulatorCollection : ICollectionFixture<ObjectEmulators>
{
    public const string Name = "object-store emulators";
}
