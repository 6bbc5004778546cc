using ActorCkpt.Cli;

namespace ActorCkpt.Cli.Tests;

public class CliProgressSpec
{
    [Fact]
    public void Redirected_output_should_get_a_plain_line_at_each_quarter()
    {
        var output = new StringWriter();
        using (var progress = new CliOutput(output, json: false, terminal: false).Progress("export", 0))
        {
            progress.AddTotal(1000);
            for (var i = 0; i < 100; i++) progress.Report(10);
        }

        Assert.Equal(new[]
        {
            "export: 25% (250 B of 1000 B)", "export: 50% (500 B of 1000 B)", "export: 75% (750 B of 1000 B)", "export: 100% (1000 B of 1000 B)",
        }, output.ToString().TrimEnd().Split(Environment.NewLine));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Progress_ended_before_the_work_was_measured_should_print_nothing(bool terminal)
    {
        // Before: "unshard step 1: 0% (0 B of 0 B)" above the line of a command refused before it wrote anything.
        var output = new StringWriter();
        using (new CliOutput(output, json: false, terminal: terminal).Progress("unshard step 1", 0)) { }

        Assert.Equal("", output.ToString());
    }

    [Fact]
    public void Redirected_output_should_show_where_unfinished_work_stopped()
    {
        var output = new StringWriter();
        using (var progress = new CliOutput(output, json: false, terminal: false).Progress("save step 3", 10 << 20))
            progress.Report(1 << 20);

        Assert.Equal("save step 3: 10% (1.0 MiB of 10.0 MiB)", output.ToString().TrimEnd());
    }

    [Fact]
    public void A_terminal_should_get_one_bar_redrawn_in_place_and_ended_with_a_newline()
    {
        var output = new StringWriter();
        using (var progress = new CliOutput(output, json: false, terminal: true).Progress("load", 2048))
        {
            progress.Report(1024);
            progress.Report(1024);
        }

        var text = output.ToString();
        Assert.Single(text.Split(Environment.NewLine), l => l.Length > 0);
        var frames = text.TrimEnd().Split('\r', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("load [" + new string('#', 15) + new string('.', 15) + "]  50% 1.0 KiB of 2.0 KiB", frames[0]);
        Assert.StartsWith("load [" + new string('#', 30) + "] 100% 2.0 KiB of 2.0 KiB", frames[^1]);
    }
}
