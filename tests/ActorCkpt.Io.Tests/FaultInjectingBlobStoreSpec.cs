namespace ActorCkpt.Io.Tests;

public class FaultInjectingBlobStoreSpec : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static bool TryWrite(IBlobStore store, string path)
    {
        try
        {
            using var w = store.Create(path);
            w.Write(new byte[] { 1, 2 }, 0);
            w.Write(new byte[] { 3, 4 }, 2);
            w.Flush();
            return true;
        }
        catch (InjectedFaultException)
        {
            return false;
        }
    }

    [Fact]
    public void Fail_nth_should_fail_exactly_that_write_and_leave_a_torn_file()
    {
        var store = new FaultInjectingBlobStore(new LocalBlobStore(_dir.Path), FaultPolicy.FailNth(2));

        var outcomes = Enumerable.Range(0, 4).Select(i => TryWrite(store, $"f{i}.safetensors")).ToArray();

        Assert.Equal(new[] { true, false, true, true }, outcomes);
        Assert.Equal(2, new FileInfo(Path.Combine(_dir.Path, "f1.safetensors")).Length);
    }

    [Fact]
    public void Fail_always_should_fail_every_matching_write_only()
    {
        var store = new FaultInjectingBlobStore(new LocalBlobStore(_dir.Path), FaultPolicy.FailAlways());

        Assert.False(TryWrite(store, "a.safetensors"));
        Assert.False(TryWrite(store, "b.safetensors"));
        Assert.True(TryWrite(store, "metadata.json"));
    }

    [Fact]
    public void Fail_with_probability_should_be_reproducible_from_its_seed()
    {
        bool[] Run(string prefix, FaultPolicy policy)
        {
            var store = new FaultInjectingBlobStore(new LocalBlobStore(_dir.Path), policy);
            return Enumerable.Range(0, 40).Select(i => TryWrite(store, $"{prefix}{i}.safetensors")).ToArray();
        }
        var policy = FaultPolicy.FailWithProbability(0.5, 7);

        var first = Run("a", policy);
        var second = Run("b", FaultPolicy.FailWithProbability(0.5, 7));

        Assert.Equal(first, second);
        Assert.Contains(false, first);
        Assert.Contains(true, first);
        Assert.Equal(40, policy.WritesSeen);
    }
}
