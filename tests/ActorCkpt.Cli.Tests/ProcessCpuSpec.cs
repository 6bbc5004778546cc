using ActorCkpt.Cli.Bench;

namespace ActorCkpt.Cli.Tests;

/// <summary>CPU seconds read from /proc/&lt;pid&gt;/stat, whatever the command name holds.</summary>
public class ProcessCpuSpec
{
    [Theory]
    [InlineData("4242 (dotnet) S 1 4242 4242 0 -1 4194560 5000 0 0 0 1234 567 0 0 20 0 30 0 100 0 0", 18.01)]
    [InlineData("77 (a (b) c) R 1 77 77 0 -1 0 0 0 0 0 100 50 0 0 20 0 1 0 5 0 0", 1.5)]
    [InlineData("9 (.NET TP Worker) S 1 9 9 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0", 0.0)]
    public void User_and_system_ticks_should_be_read_after_the_command_name(string stat, double seconds)
    {
        Assert.Equal(seconds, ProcessCpu.Parse(stat)!.Value, 6);
    }

    [Theory]
    [InlineData("")]
    [InlineData("12 (cut short) S 1 2 3")]
    [InlineData("12 (x) S 1 2 3 4 5 6 7 8 9 10 ten 12")]
    public void A_line_that_is_not_a_stat_line_should_give_nothing(string stat)
    {
        Assert.Null(ProcessCpu.Parse(stat));
    }

    [Fact]
    public void A_running_process_should_have_used_some_CPU_and_a_gone_one_none_to_report()
    {
        Assert.True(ProcessCpu.Seconds([Environment.ProcessId]) > 0);
        using var exited = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("true") { UseShellExecute = false })!;
        exited.WaitForExit();
        var pid = exited.Id;
        exited.Dispose();
        Assert.Null(ProcessCpu.Seconds([Environment.ProcessId, pid]));
    }
}
