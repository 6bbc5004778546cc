using Akka.Actor;
using Akka.Configuration;

namespace ActorCkpt.Actors.Tests;

/// <summary>A node's warm-up at start, an optimization: it ends without a word when its actor system goes.</summary>
public sealed class WarmUpSpec : NodeSpec
{
    [Fact]
    public async Task A_warm_up_of_a_node_whose_system_terminated_should_end_at_once_saying_nothing()
    {
        var system = ActorSystem.Create("warm", ActorCkptConfig.WithCatalog(ConfigurationFactory.ParseString(TestConfig).WithFallback(ActorCkptConfig.Defaults), Root));
        var node = CheckpointNode.Start(system, new LocalBlobStore(Root));
        var warming = node.WarmUpAsync(TimeSpan.FromHours(1));
        await system.Terminate();

        // Before, it waited out its timeout (the plan timeout, 60 s by default) and then warned that it "did not finish".
        Assert.Null(await warming.WaitAsync(Patience));
        Assert.Null(await node.WarmUpAsync(TimeSpan.FromHours(1)).WaitAsync(Patience));
    }
}
