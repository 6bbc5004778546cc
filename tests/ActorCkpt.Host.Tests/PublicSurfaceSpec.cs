namespace ActorCkpt.Host.Tests;

/// <summary>
/// What a consumer of the packages sees: public types in two namespaces only, and none of the
/// hooks the tests use (fault injection, kill points, the node underneath, the stores).
/// </summary>
public sealed class PublicSurfaceSpec
{
    private static readonly System.Reflection.Assembly[] Library =
    [
        typeof(ActorCkptException).Assembly,   // ActorCkpt.Planner
        typeof(CheckpointNotFoundException).Assembly,   // ActorCkpt.Io
        typeof(RankState).Assembly,   // ActorCkpt.Actors
        typeof(Checkpointer).Assembly,   // ActorCkpt.Host
    ];

    [Fact]
    public void Public_types_should_live_in_the_ActorCkpt_and_ActorCkpt_Hosting_namespaces_only()
    {
        var namespaces = Library.SelectMany(a => a.GetExportedTypes()).Select(t => t.Namespace).Distinct().Order().ToArray();
        Assert.Equal(new[] { "ActorCkpt", "ActorCkpt.Hosting" }, namespaces);
    }

    [Theory]
    [InlineData(typeof(KillPoint))]
    [InlineData(typeof(FaultInjectingBlobStore))]
    [InlineData(typeof(CheckpointNode))]
    [InlineData(typeof(CheckpointStore))]
    [InlineData(typeof(IBlobStore))]
    [InlineData(typeof(ActorCkptSettings))]
    [InlineData(typeof(StagingPool))]
    public void Test_hooks_should_be_internal(Type hook) => Assert.False(hook.IsVisible, $"{hook.Name} is public");

    [Fact]
    public void The_checkpointer_should_expose_no_test_hook()
    {
        var members = typeof(Checkpointer).GetMembers().Select(m => m.Name).ToHashSet();
        Assert.DoesNotContain("Store", members);
        Assert.DoesNotContain("Settings", members);
        Assert.DoesNotContain("StagingPool", members);
        Assert.All(typeof(Checkpointer).GetMethods().Where(m => m.Name == "Start"),
            m => Assert.DoesNotContain(m.GetParameters(), p => p.ParameterType == typeof(Func<IBlobStore, IBlobStore>)));
    }
}
