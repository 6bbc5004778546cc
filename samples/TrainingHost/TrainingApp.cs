using ActorCkpt.Hosting;
using Akka.Cluster.Hosting;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace TrainingHost;

/// <summary>
/// Builds one rank's host: a generic host whose own ActorSystem (Akka.Hosting) joins the job's
/// cluster on 127.0.0.1 and runs ActorCkpt; the training loop (<see cref="Trainer"/>) takes the
/// ICheckpointer from dependency injection. The program runs it as is; a test may add to
/// ActorCkpt's options (<paramref name="configureCheckpointing"/>: fault-injecting storage) and to
/// the ActorSystem's configuration (<paramref name="hocon"/>), and read what <paramref name="report"/> was given.
/// </summary>
internal static class TrainingApp
{
    public static IHost Build(RunOptions options, Report report, Action<ActorCkptOptions>? configureCheckpointing = null, string? hocon = null)
    {
        var builder = Host.CreateApplicationBuilder();
        // Standard output carries the lines run-sample.sh compares; logs (Akka's among them) go to standard error.
        builder.Logging.ClearProviders()
            .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace)
            .AddSimpleConsole(o => (o.SingleLine, o.TimestampFormat) = (true, "HH:mm:ss.fff "));
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(report);
        builder.Services.AddAkka(options.SystemName, (akka, _) =>
        {
            if (hocon is not null) akka.AddHocon(hocon, HoconAddMode.Prepend);
            akka.WithRemoting("127.0.0.1", options.Port)
                .WithClustering(new ClusterOptions
                {
                    // A training node saves (rank), writes (writer) and may host the planner singleton (planner).
                    Roles = ["rank", "writer", "planner"],
                    // Rank 0 is the seed node: it lists itself first and forms the cluster, the others join it.
                    SeedNodes = [$"akka.tcp://{options.SystemName}@127.0.0.1:{options.SeedPort}"],
                })
                .WithActorCkpt(o =>
                {
                    o.Root = options.Root;
                    configureCheckpointing?.Invoke(o);
                });
        });
        builder.Services.AddActorCkptCheckpointer();
        builder.Services.AddHostedService<Trainer>();
        return builder.Build();
    }
}
