
namespace ActorCkpt.Cli.Tests;

public class CrashAtProtocolPhasesSpec : IDisposable
{
    private readonly CrashHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    [Fact]
    public async Task A_kill_at_every_phase_of_the_save_should_lose_nothing_committed_and_the_next_save_should_clean_up()
    {
        // Three clean steps first, so retention (keep the newest 3) has something to delete.
        await _harness.KillAfterAsync(TimeSpan.FromMinutes(2), steps: 3);
        var committed = _harness.Committed();
        Assert.Equal(new long[] { 1, 2, 3 }, committed);

        foreach (var point in KillPoint.SavePoints)
        {
            var latest = committed[^1];
            // Each run saves latest+1 .. latest+3 and dies in the second of them; "deleting" dies
            // while retention removes the step that commit of latest+2 pushes out.
            var step = point == "deleting" ? latest - 1 : latest + 2;
            await _harness.KillAtAsync(point, step);
            if (point == "renamed") await AssertListedAsCommittedOnDisk(step);
            committed = _harness.AssertRecovered(committed, $"kill at '{point}' of step {step}");
        }
    }

    /// <summary>
    /// Killed between the commit's rename and its journal, the step is in-flight in the catalog and committed on
    /// disk until a planner starts: ls says both (before, "in-flight" alone, while inspect said committed).
    /// </summary>
    private async Task AssertListedAsCommittedOnDisk(long step)
    {
        var (exit, text, err) = await ToolRun.RunAsync("ls", _harness.Root);
        Assert.True(exit == 0, err);
        Assert.Contains($"step {step}: in-flight, ", text);
        Assert.Contains($"({ListCommand.UnsettledNote})", text.Split('\n').Single(l => l.StartsWith($"step {step}:", StringComparison.Ordinal)));
        var (_, json, _) = await ToolRun.RunAsync("ls", _harness.Root, "--json");
        var entries = System.Text.Json.JsonDocument.Parse(json.TrimEnd().Split('\n')[^1]).RootElement.GetProperty("checkpoints").EnumerateArray().ToArray();
        Assert.Equal(ListCommand.UnsettledNote, entries.Single(e => e.GetProperty("step").GetInt64() == step).GetProperty("unsettled").GetString());
        Assert.All(entries.Where(e => e.GetProperty("step").GetInt64() != step), e => Assert.Equal(System.Text.Json.JsonValueKind.Null, e.GetProperty("unsettled").ValueKind));
    }
}

public class CrashAtRandomMomentsSpec : IDisposable
{
    private readonly CrashHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    [Fact]
    public async Task Kills_at_random_moments_should_lose_nothing_committed_and_the_next_save_should_clean_up()
    {
        var random = new Random(20261123);
        IReadOnlyList<long> committed = Array.Empty<long>();
        for (var i = 0; i < 12; i++)
        {
            // From before the actor system is up to the middle of the fourth save.
            var delay = TimeSpan.FromMilliseconds(random.Next(300, 3000));
            await _harness.KillAfterAsync(delay);
            committed = _harness.AssertRecovered(committed, $"kill {i + 1} after {delay.TotalMilliseconds} ms");
        }
    }
}
