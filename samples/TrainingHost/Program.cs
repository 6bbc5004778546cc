using ActorCkpt;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TorchSharp;
using TrainingHost;

// INTERIM (until WithActorCkpt lands): a clustered Checkpointer started by hand.
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

// Bit-exact runs: one intra-op thread, every generator seeded from the options.
torch.set_num_threads(1);

var builder = Host.CreateApplicationBuilder();
builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
var ckpt = await Checkpointer.StartAsync(new CheckpointerOptions
{
    Root = options.Root,
    Cluster = new CheckpointClusterOptions { SystemName = options.SystemName, Port = options.Port, SeedNodes = { $"127.0.0.1:{options.SeedPort}" } },
});
builder.Services.AddSingleton(options);
builder.Services.AddSingleton<ICheckpointer>(ckpt);
builder.Services.AddHostedService<Trainer>();
await builder.Build().RunAsync();
await ckpt.DisposeAsync();
return Environment.ExitCode;
