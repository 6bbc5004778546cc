namespace ActorCkpt.Io.Tests;

/// <summary>
/// An object store that fails a read itself (a timeout or a 500 after its retries, throttling,
/// refused credentials) is not a damaged checkpoint: <c>verify</c>, the reader checks and <c>ls</c>'s
/// damage column pass its error on as the one error it is, where they listed each file it failed
/// as bad; the committed steps are not listed without the step whose metadata it failed to look
/// at. A file the store says is not there is still reported as missing, with the rest.
/// </summary>
public sealed class UnansweredStoreSpec : IDisposable
{
    private const string Timeout = "mem://test: step-00000001/rank-00000.safetensors: no answer after 4 tries (a timeout)";

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Step 1 saved over 2 ranks, read back through a store whose data-file reads fail with <paramref name="kind"/>.</summary>
    private CheckpointStore Failing(ObjectErrorKind kind)
    {
        SavedCheckpoint.Save(new CheckpointStore(new LocalBlobStore(_dir.Path)), 1, world: 2);
        return new CheckpointStore(new FailingReads(new LocalBlobStore(_dir.Path), kind));
    }

    [Theory]
    [InlineData(nameof(ObjectErrorKind.Transient))]
    [InlineData(nameof(ObjectErrorKind.Throttled))]
    [InlineData(nameof(ObjectErrorKind.Unauthorized))]
    [InlineData(nameof(ObjectErrorKind.Permanent))]
    public void A_store_that_fails_the_reads_should_fail_verify_and_the_reader_checks_with_its_error_not_report_bad_files(string kind)
    {
        var store = Failing(Enum.Parse<ObjectErrorKind>(kind));

        Assert.Equal(Timeout, Assert.Throws<ObjectStoreException>(() => CheckpointVerifier.Verify(store, 1)).Message);
        Assert.Equal(Timeout, Assert.Throws<ObjectStoreException>(() => StepConsistency.Check(store, 1, null)).Message);
        Assert.Equal(Timeout, Assert.Throws<ObjectStoreException>(() => StepConsistency.Damage(store, 1, null)).Message);
    }

    [Fact]
    public void A_store_that_fails_the_metadata_probe_should_fail_the_listing_not_hide_the_committed_step()
    {
        SavedCheckpoint.Save(new CheckpointStore(new LocalBlobStore(_dir.Path)), 1, world: 2);
        var store = new CheckpointStore(new FailingProbe(new LocalBlobStore(_dir.Path)));

        Assert.Equal(Timeout, Assert.Throws<ObjectStoreException>(() => store.CommittedSteps()).Message);
    }

    [Fact]
    public void A_data_file_the_store_says_is_not_there_should_still_be_reported_with_the_rest()
    {
        var store = Failing(ObjectErrorKind.NotFound);

        var failures = CheckpointVerifier.Verify(store, 1);
        Assert.Equal(2, failures.Count);
        Assert.All(failures, f => Assert.Equal(Timeout, f.Problem));
        Assert.Contains(Timeout, StepConsistency.Damage(store, 1, null));
    }

    private sealed class FailingProbe(IBlobStore inner) : DelegatingBlobStore(inner)
    {
        public override bool IsRegularFile(string path) => throw new ObjectStoreException(ObjectErrorKind.Transient, Timeout);
    }

    private sealed class FailingReads(IBlobStore inner, ObjectErrorKind kind) : DelegatingBlobStore(inner)
    {
        public override IBlobReader OpenRead(string path) =>
            path.EndsWith(".safetensors", StringComparison.Ordinal) ? throw new ObjectStoreException(kind, Timeout) : Inner.OpenRead(path);
    }
}
