namespace ActorCkpt.Io.Tests;

/// <summary>The waits between retries of object-store requests (<see cref="RetrySchedule"/>).</summary>
public class RetryScheduleSpec
{
    private static readonly RetrySchedule Schedule = new(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(20));

    private static ObjectStoreException Failure(ObjectErrorKind kind, TimeSpan? after = null) => new(kind, "x", after);

    [Fact]
    public void Backoff_should_double_with_each_attempt_within_its_jitter()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(50), Schedule.Delay(1, Failure(ObjectErrorKind.Transient), 0));
        Assert.InRange(Schedule.Delay(1, Failure(ObjectErrorKind.Transient), 0.999999), TimeSpan.FromMilliseconds(99), TimeSpan.FromMilliseconds(100));
        Assert.Equal(TimeSpan.FromMilliseconds(400), Schedule.Delay(4, Failure(ObjectErrorKind.Transient), 0));
        Assert.Equal(TimeSpan.FromSeconds(10), Schedule.Delay(30, Failure(ObjectErrorKind.Transient), 0));
    }

    [Fact]
    public void A_throttling_answer_should_wait_what_it_named_or_four_times_the_backoff()
    {
        Assert.Equal(TimeSpan.FromSeconds(3), Schedule.Delay(1, Failure(ObjectErrorKind.Throttled, TimeSpan.FromSeconds(3)), 0));
        Assert.Equal(TimeSpan.FromMilliseconds(200), Schedule.Delay(1, Failure(ObjectErrorKind.Throttled), 0));
        // A named wait shorter than the slowed backoff does not shorten it.
        Assert.Equal(TimeSpan.FromMilliseconds(800), Schedule.Delay(3, Failure(ObjectErrorKind.Throttled, TimeSpan.FromMilliseconds(10)), 0));
    }
}
