
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
            committed = _harness.AssertRecovered(committed, $"kill at '{point}' of step {step}");
        }
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
