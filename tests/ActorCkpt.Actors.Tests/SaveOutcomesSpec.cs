namespace ActorCkpt.Actors.Tests;

/// <summary>The outcomes a node keeps for FinalizeAsync: bounded, never the saves in flight.</summary>
public class SaveOutcomesSpec
{
    private static SaveHandle Ended(long step)
    {
        var handle = new SaveHandle(step, 0);
        handle.Fail(new ActorCkptException($"step {step} failed"));
        return handle;
    }

    [Fact]
    public void Past_twice_the_bound_the_oldest_ended_saves_should_go_and_every_save_in_flight_stay()
    {
        var outcomes = new SaveOutcomes(kept: 2);
        var inFlight = new SaveHandle(1, 0);
        outcomes.Add(inFlight);
        for (var step = 2; step <= 5; step++) outcomes.Add(Ended(step));
        // Five held, four of them ended: over twice the bound, the two oldest ended ones go.
        Assert.Equal(new long[] { 1, 4, 5 }, outcomes.Held.Select(h => h.Step));
        Assert.True(outcomes.InFlight(0, 1));
        Assert.False(outcomes.InFlight(0, 4));

        Assert.Equal(new long[] { 4, 5 }, outcomes.TakeFinished().Select(h => h.Step));
        Assert.Equal(new long[] { 1 }, outcomes.Held.Select(h => h.Step));
        Assert.Equal(new long[] { 1 }, outcomes.Unfinished.Select(h => h.Step));
    }

    [Fact]
    public void Saves_in_flight_should_never_be_dropped_whatever_their_number()
    {
        var outcomes = new SaveOutcomes(kept: 1);
        for (var step = 1; step <= 10; step++) outcomes.Add(new SaveHandle(step, 0));
        Assert.Equal(10, outcomes.Held.Count);
        Assert.Empty(outcomes.TakeFinished());
    }

    [Fact]
    public async Task Saves_that_end_while_their_outcomes_are_taken_should_each_be_returned_once()
    {
        // Saves end on actors' threads while a caller collects: before, a save that ended between the
        // collection's two passes was removed without being returned (FinalizeAsync lost 8 to 13 of 100).
        var outcomes = new SaveOutcomes(kept: 1_000_000);
        var handles = Enumerable.Range(1, 100_000).Select(step => new SaveHandle(step, 0)).ToArray();
        foreach (var h in handles) outcomes.Add(h);
        var ending = Task.Run(() =>
        {
            foreach (var h in handles) h.Fail(new ActorCkptException("ended"));
        });

        var taken = new List<SaveHandle>();
        while (!ending.IsCompleted) taken.AddRange(outcomes.TakeFinished());
        await ending;
        taken.AddRange(outcomes.TakeFinished());

        Assert.Equal(handles.Length, taken.Distinct().Count());
        Assert.Equal(handles.Length, taken.Count);
        Assert.Empty(outcomes.Held);
    }
}
