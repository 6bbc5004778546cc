using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using ActorCkpt.Cli;

namespace ActorCkpt.Cli.Tests;

/// <summary>Akka's log in the tool: one line per event, a cause as its type and message, its trace only with --verbose.</summary>
public class CliLoggerSpec
{
    private static Exception Thrown()
    {
        try
        {
            throw new IOException("No space left on device : '/r/step-00000002/r00000-000-x.safetensors'");
        }
        catch (IOException e)
        {
            return e;
        }
    }

    [Fact]
    public void An_error_with_its_cause_should_be_one_line_and_its_trace_only_when_verbose()
    {
        // Before, Akka's own logger printed "Cause: System.IO.IOException: ..." and the whole stack trace, on stdout.
        var error = new Error(Thrown(), "akka://actorckpt/user/n-writers/w0", typeof(CliLoggerSpec), "Write of r00000-000-x.safetensors failed\nafter 1 attempts");

        var plain = CliLogger.Line(error, verbose: false);
        var verbose = CliLogger.Line(error, verbose: true);

        Assert.Equal("[ERROR] akka://actorckpt/user/n-writers/w0: Write of r00000-000-x.safetensors failed after 1 attempts (IOException: No space left on device : '/r/step-00000002/r00000-000-x.safetensors')", plain);
        Assert.Contains("   at ActorCkpt.Cli.Tests.CliLoggerSpec.Thrown()", verbose);
    }

    [Fact]
    public async Task An_actor_system_should_start_and_log_through_it()
    {
        var config = ConfigurationFactory.ParseString(CliLogger.Hocon(verbose: false));
        using var system = ActorSystem.Create("cli-logger", config);

        Assert.Equal(["ActorCkpt.Cli.CliLogger, actorckpt"], system.Settings.Config.GetStringList("akka.loggers"));
        system.Log.Warning("a warning");
        await system.Terminate().WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public void Node_processes_the_tool_starts_should_get_the_config_without_it()
    {
        const string file = "actorckpt.retention.keep-last = 2\n";

        Assert.Equal(file, CliLogger.Without(CliLogger.Hocon(verbose: true) + file));
        Assert.Equal(file, CliLogger.Without(CliLogger.Hocon(verbose: false) + file));
    }
}
