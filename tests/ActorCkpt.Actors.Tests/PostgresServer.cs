using System.Diagnostics;

namespace ActorCkpt.Actors.Tests;

/// <summary>
/// A throwaway PostgreSQL server on 127.0.0.1: initdb into a temp directory, pg_ctl start on a free
/// port, immediate stop and removal on dispose. PostgreSQL refuses to run as root, so as root it
/// runs as the `postgres` user (runuser).
/// </summary>
internal sealed class PostgresServer : IDisposable
{
    private static readonly Lazy<string?> BinDirectory = new(FindBin);
    private readonly string _data;
    private bool _stopped;

    public PostgresServer()
    {
        var bin = BinDirectory.Value ?? throw new InvalidOperationException("no PostgreSQL binaries (initdb, pg_ctl) found");
        _data = Path.Combine(Path.GetTempPath(), "actorckpt-pg-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_data);
        if (IsRoot) Run("chown", "postgres:postgres", _data);
        Port = LoopbackPort.Free();
        AsServerUser(Path.Combine(bin, "initdb"), "-D", _data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8");
        AsServerUser(Path.Combine(bin, "pg_ctl"), "-D", _data, "-w", "-t", "60", "-l", Path.Combine(_data, "server.log"),
            "-o", $"-p {Port} -h 127.0.0.1 -k {_data} -c fsync=off", "start");
        Bin = bin;
    }

    private string Bin { get; }

    /// <summary>Stops the server at once, as a crash or a failover would; <see cref="Start"/> brings it back on the same port.</summary>
    public void Stop()
    {
        AsServerUser(Path.Combine(Bin, "pg_ctl"), "-D", _data, "-m", "immediate", "-w", "stop");
        _stopped = true;
    }

    /// <summary>Starts the server stopped by <see cref="Stop"/> again, with its data.</summary>
    public void Start()
    {
        AsServerUser(Path.Combine(Bin, "pg_ctl"), "-D", _data, "-w", "-t", "60", "-l", Path.Combine(_data, "server.log"),
            "-o", $"-p {Port} -h 127.0.0.1 -k {_data} -c fsync=off", "start");
        _stopped = false;
    }

    public int Port { get; }

    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres;Pooling=false";

    /// <summary>Null when a server can be started here; otherwise why not.</summary>
    public static string? Unavailable => BinDirectory.Value is null ? "no PostgreSQL binaries (initdb, pg_ctl) on this machine; .ci/run installs Debian's postgresql package" : null;

    public void Dispose()
    {
        try
        {
            if (!_stopped) AsServerUser(Path.Combine(Bin, "pg_ctl"), "-D", _data, "-m", "immediate", "-w", "stop");
        }
        finally
        {
            Directory.Delete(_data, recursive: true);
        }
    }

    private static bool IsRoot => Environment.UserName == "root";

    private static void AsServerUser(string program, params string[] args)
    {
        if (IsRoot) Run("runuser", new[] { "-u", "postgres", "--", program }.Concat(args).ToArray());
        else Run(program, args);
    }

    private static void Run(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited {p.ExitCode}: {output.Result}{error.Result}");
    }

    private static string? FindBin()
    {
        var candidates = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
            .Concat(Directory.Exists("/usr/lib/postgresql") ? Directory.GetDirectories("/usr/lib/postgresql").OrderDescending().Select(d => Path.Combine(d, "bin")) : Array.Empty<string>());
        return candidates.FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")) && File.Exists(Path.Combine(d, "pg_ctl")));
    }
}

/// <summary>A fact that runs where a PostgreSQL server can be started; elsewhere it is skipped, saying why.</summary>
internal sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (PostgresServer.Unavailable is { } why) Skip = why;
    }
}
