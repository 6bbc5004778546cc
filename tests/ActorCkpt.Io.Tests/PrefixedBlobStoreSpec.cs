namespace ActorCkpt.Io.Tests;

/// <summary>
/// A store under one directory of another (<see cref="PrefixedBlobStore"/>): the memory tier's
/// metadata at <c>&lt;root&gt;/memory</c>, which the root's own step scans never take for a step.
/// </summary>
public class PrefixedBlobStoreSpec : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_checkpoint_committed_through_the_prefix_should_live_under_it_and_not_be_a_step_of_the_root()
    {
        var root = new CheckpointStore(new LocalBlobStore(_dir.Path));
        var memory = new CheckpointStore(new PrefixedBlobStore(new LocalBlobStore(_dir.Path), CheckpointLayout.MemoryDirectory));
        SavedCheckpoint.Save(memory, 4, world: 2);

        Assert.True(File.Exists(Path.Combine(_dir.Path, "memory", "step-00000004", "metadata.json")));
        Assert.Equal(new long[] { 4 }, memory.CommittedSteps());
        Assert.Empty(root.CommittedSteps());
        Assert.Empty(root.ScanSteps(_ => true).Steps);
        Assert.Equal(4, memory.ReadMetadata(4).Step);

        memory.Delete(4);
        Assert.False(Directory.Exists(Path.Combine(_dir.Path, "memory", "step-00000004")));
        Assert.Empty(memory.CommittedSteps());
    }

    [Theory]
    [InlineData("")]
    [InlineData("..")]
    [InlineData("a/b")]
    public void A_prefix_that_is_not_one_plain_name_should_be_refused(string prefix)
    {
        Assert.Throws<ArgumentException>(() => new PrefixedBlobStore(new LocalBlobStore(_dir.Path), prefix));
    }

    [Fact]
    public void A_path_climbing_out_of_the_prefix_should_still_be_refused_outside_the_root()
    {
        var memory = new PrefixedBlobStore(new LocalBlobStore(_dir.Path), "memory");
        Assert.Throws<UnauthorizedAccessException>(() => memory.Create("../../escape"));
    }
}
