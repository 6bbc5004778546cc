namespace ActorCkpt.Planner.Tests;

/// <summary>One upload at a time; of the steps due meanwhile only the newest waits; the one under way is never cut short.</summary>
public class UploadQueueSpec
{
    [Fact]
    public void A_step_due_while_none_uploads_should_start_at_once()
    {
        var queue = new UploadQueue();
        Assert.Equal(new UploadTurn(2, null), queue.Enqueue(2));
        Assert.Equal(2, queue.Current);
        Assert.Null(queue.Finished(2));
        Assert.Null(queue.Current);
    }

    [Fact]
    public void Steps_due_during_an_upload_should_leave_only_the_newest_waiting()
    {
        var queue = new UploadQueue();
        queue.Enqueue(2);
        Assert.Equal(new UploadTurn(null, null), queue.Enqueue(4));
        Assert.Equal(new UploadTurn(null, 4), queue.Enqueue(6));
        Assert.Equal(new UploadTurn(null, 5), queue.Enqueue(5));
        Assert.Equal(new UploadTurn(null, null), queue.Enqueue(6));
        Assert.Equal((2L, 6L), (queue.Current!.Value, queue.Waiting!.Value));

        Assert.Equal(6, queue.Finished(2));
        Assert.Equal((6L, (long?)null), (queue.Current!.Value, queue.Waiting));
        Assert.Null(queue.Finished(6));
    }

    [Fact]
    public void The_end_of_an_upload_not_under_way_should_change_nothing()
    {
        var queue = new UploadQueue();
        queue.Enqueue(2);
        queue.Enqueue(4);
        Assert.Null(queue.Finished(4));
        Assert.Equal((2L, 4L), (queue.Current!.Value, queue.Waiting!.Value));
    }
}
