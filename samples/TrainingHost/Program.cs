using Microsoft.Extensions.Hosting;
using TorchSharp;
using TrainingHost;

// One rank of a training job (TrainingApp builds its host; Trainer runs the rank).
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

await TrainingApp.Build(options, new Report(Console.Out)).RunAsync();
return Environment.ExitCode;
