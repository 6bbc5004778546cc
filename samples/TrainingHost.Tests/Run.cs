using System.Net;
using System.Net.Sockets;
using TorchSharp;

namespace TrainingHost.Tests;

/// <summary>What a test run of the sample printed (its <see cref="Report"/> lines), and helpers to start runs.</summary>
internal sealed class Run
{
    private readonly StringWriter _output = new();

    public Run() => Report = new Report(_output);

    public Report Report { get; }

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_output) return _output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        }
    }

    /// <summary>The lines whose first word is <paramref name="kind"/>, without it.</summary>
    public IReadOnlyList<string> Of(string kind) => Lines.Where(l => l.StartsWith(kind + " ", StringComparison.Ordinal)).Select(l => l[(kind.Length + 1)..]).ToList();

    /// <summary>"STEP GLOBAL_BITS LOCAL_BITS" of every step after <paramref name="from"/>.</summary>
    public IReadOnlyList<string> LossesAfter(long from) =>
        Of("loss").Select(l => l.Split(' ')).Where(p => long.Parse(p[0]) > from).Select(p => string.Join(' ', p[..3])).ToList();

    public override string ToString() => string.Join('\n', Lines);

    /// <summary>Bit-exact runs: one intra-op thread (as the program).</summary>
    public static void SingleThreaded() => torch.set_num_threads(1);

    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
