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

try
{
    await TrainingApp.Build(options, new Report(Console.Out)).RunAsync();
}
catch (Exception e)
{
    // A start that fails (a root that is a file, a bad setting) names what is wrong in one line.
    Console.Error.WriteLine($"TrainingHost: {e.GetBaseException().Message}");
    return 1;
}
return Environment.ExitCode;
