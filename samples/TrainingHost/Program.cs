using ActorCkpt.Hosting;
using Akka.Cluster.Hosting;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TorchSharp;
using TrainingHost;

// One rank of a training job: a generic host whose own ActorSystem (Akka.Hosting) joins the
// job's cluster on 127.0.0.1 and runs ActorCkpt; the training loop (Trainer) takes the
// ICheckpointer from dependency injection.
RunOptions options;
try
{
    options = RunOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

// Bit-exact runs: one intra-op thread; every generator is seeded from the options.
torch.set_num_threads(1);

var builder = Host.CreateApplicationBuilder();
// Standard output carries the lines run-sample.sh compares; logs (Akka's among them) go to standard error.
builder.Logging.ClearProviders()
    .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace)
    .AddSimpleConsole(o => (o.SingleLine, o.TimestampFormat) = (true, "HH:mm:ss.fff "));
builder.Services.AddSingleton(options);
builder.Services.AddAkka(options.SystemName, (akka, _) => akka
    .WithRemoting("127.0.0.1", options.Port)
    .WithClustering(new ClusterOptions
    {
        // A training node saves (rank), writes (writer) and may host the planner singleton (planner).
        Roles = ["rank", "writer", "planner"],
        // Rank 0 is the seed node: it lists itself first and forms the cluster, the others join it.
        SeedNodes = [$"akka.tcp://{options.SystemName}@127.0.0.1:{options.SeedPort}"],
    })
    .WithActorCkpt(o => o.Root = options.Root));
builder.Services.AddActorCkptCheckpointer();
builder.Services.AddHostedService<Trainer>();

await builder.Build().RunAsync();
return Environment.ExitCode;
