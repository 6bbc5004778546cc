namespace ActorCkpt.Hosting.Tests;

/// <summary>The checkpointer dependency injection hands out before ActorCkpt has started: a call waiting when it never will fails in one line.</summary>
public sealed class DeferredCheckpointerSpec
{
    [Fact]
    public async Task A_call_waiting_when_the_host_stops_before_the_start_should_fail_in_one_line()
    {
        var deferred = new DeferredCheckpointer();
        var waiting = deferred.GetLatestStepAsync(TestContext.Current.CancellationToken);
        deferred.Dispose();

        var e = await Assert.ThrowsAsync<ObjectDisposedException>(() => waiting);
        // Before: .NET's second line, "Object name: 'ICheckpointer'.".
        Assert.Equal("the host stopped before ActorCkpt had started in its ActorSystem (see the host's start error)", e.Message);
    }
}
