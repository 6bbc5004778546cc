namespace ActorCkpt.Cli.Tests;

/// <summary>The crash harness's network: made, cut, healed and removed as it says, and nothing of it left behind.</summary>
[Collection(ClusterCrashCollection.Name)]
public class NetworkNamespacesSpec
{
    [NetnsFact]
    public void Disposing_should_remove_every_namespace_and_link_it_made()
    {
        string id;
        using (var net = NetworkNamespaces.Create(2))
        {
            id = net.Id;
            Assert.Equal(new[] { id + "n0", id + "n1" }, Namespaces().Where(n => n.StartsWith(id, StringComparison.Ordinal)).Order());
            Assert.Contains($"inet {net.Address(1)}/24", NetworkNamespaces.Run("ip", "-n", net.Namespace(1), "-4", "addr", "show", "dev", "eth0"));
            Assert.Contains(id + "b", Links());

            // A cut takes the node's veth down; healing brings it back.
            net.Cut(1);
            Assert.Contains("state DOWN", NetworkNamespaces.Run("ip", "link", "show", id + "v1"));
            net.Heal(1);
            Assert.DoesNotContain("state DOWN", NetworkNamespaces.Run("ip", "link", "show", id + "v1"));
        }
        Assert.DoesNotContain(Namespaces(), n => n.StartsWith(id, StringComparison.Ordinal));
        Assert.DoesNotContain(Links(), l => l.StartsWith(id, StringComparison.Ordinal));
    }

    [NetnsFact]
    public void A_harness_should_remove_what_a_dead_harness_left_and_keep_what_a_live_one_holds()
    {
        var deadPid = Enumerable.Range(4_000_000, 100_000).First(p => !Directory.Exists($"/proc/{p}"));
        var dead = $"ckx{deadPid}s1n0";
        var live = $"ckx{Environment.ProcessId}s97n0";
        var deadBridge = $"ckx{deadPid}s1b";
        NetworkNamespaces.Run("ip", "netns", "add", dead);
        NetworkNamespaces.Run("ip", "netns", "add", live);
        NetworkNamespaces.Run("ip", "link", "add", deadBridge, "type", "bridge");
        try
        {
            NetworkNamespaces.RemoveStale();

            Assert.DoesNotContain(dead, Namespaces());
            Assert.DoesNotContain(deadBridge, Links());
            Assert.Contains(live, Namespaces());
        }
        finally
        {
            foreach (var ns in new[] { dead, live }.Where(Namespaces().Contains)) NetworkNamespaces.Run("ip", "netns", "del", ns);
            if (Links().Contains(deadBridge)) NetworkNamespaces.Run("ip", "link", "del", deadBridge);
        }
    }

    private static string[] Namespaces() =>
        NetworkNamespaces.Run("ip", "netns", "list").Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0]).ToArray();

    private static string[] Links() =>
        NetworkNamespaces.Run("ip", "-o", "link", "show").Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(':', 3)[1].Trim().Split('@')[0]).ToArray();
}
