using System.Text.Json;

namespace ActorCkpt.Cli.Tests;

/// <summary>A plain report stays short whatever the root holds; --json carries everything.</summary>
public class CliReportSpec
{
    private static readonly Dictionary<string, object?> Fields = new()
    {
        ["root"] = "/r",
        ["checkpoints"] = Enumerable.Range(1, 3).Select(s => new Dictionary<string, object?> { ["step"] = s, ["status"] = "committed" }).ToList(),
        ["committed"] = Enumerable.Range(1, 40).Select(s => (long)s).ToList(),
        ["deleted"] = new List<long> { 7 },
        ["cpu_ms"] = new Dictionary<string, object?> { ["plan"] = 1.5 },
    };

    [Fact]
    public void A_plain_report_should_count_lists_of_records_and_cut_long_lists_of_values()
    {
        // Before, ls printed the whole catalog again as one JSON line after its own line per step.
        var text = new StringWriter();

        new CliOutput(text, json: false, terminal: false).Report(Fields);

        Assert.Equal(string.Join("\n",
            "root: /r",
            "checkpoints: 3 (--json prints them)",
            $"committed: [{string.Join(",", Enumerable.Range(1, 32))},...] (40 in all; --json prints them)",
            "deleted: [7]",
            "cpu_ms: {\"plan\":1.5}",
            ""), text.ToString().ReplaceLineEndings("\n"));
    }

    [Fact]
    public void A_json_report_should_carry_every_item()
    {
        var text = new StringWriter();

        new CliOutput(text, json: true, terminal: false).Report(Fields);

        var report = JsonDocument.Parse(text.ToString()).RootElement;
        Assert.Equal(3, report.GetProperty("checkpoints").GetArrayLength());
        Assert.Equal(40, report.GetProperty("committed").GetArrayLength());
    }
}
