namespace ActorCkpt.Planner.Tests;

/// <summary>
/// Where a file's replicas go: exhaustively over small clusters, R distinct holders with the own host
/// first, whatever the order or repetitions of the host list; how copies spread over peers; and who
/// takes over a lost copy.
/// </summary>
public class ReplicaPlacementSpec
{
    private static string[] Hosts(int n) => Enumerable.Range(0, n).Select(i => $"h{i}").ToArray();

    [Fact]
    public void Every_small_cluster_should_give_R_distinct_holders_own_host_first()
    {
        var checkedCases = 0;
        for (var n = 1; n <= 8; n++)
        {
            var hosts = Hosts(n);
            for (var r = 1; r <= n; r++)
            for (var spread = 0; spread <= 40; spread++)
            foreach (var own in hosts)
            {
                var holders = ReplicaPlacement.Holders(own, hosts, r, spread);
                Assert.Equal(r, holders.Count);
                Assert.Equal(r, holders.Distinct().Count());
                Assert.Equal(own, holders[0]);
                Assert.All(holders, h => Assert.Contains(h, hosts));
                checkedCases++;
            }
        }
        Assert.Equal(41 * Enumerable.Range(1, 8).Sum(n => n * n), checkedCases);
    }

    [Fact]
    public void An_own_host_that_is_not_a_candidate_should_still_get_R_distinct_candidates()
    {
        for (var n = 1; n <= 8; n++)
        {
            var hosts = Hosts(n);
            for (var r = 1; r <= n; r++)
            for (var spread = 0; spread <= 40; spread++)
            foreach (var own in new[] { "rank-only", null, "h" })
            {
                var holders = ReplicaPlacement.Holders(own, hosts, r, spread);
                Assert.Equal(r, holders.Distinct().Count());
                Assert.All(holders, h => Assert.Contains(h, hosts));
            }
        }
        // File s starts s·R places along the ring: consecutive files' windows tile it.
        Assert.Equal(new[] { "h2", "h0" }, ReplicaPlacement.Holders(null, Hosts(3), 2, 4));
        Assert.Equal(new[] { "h1", "h2" }, ReplicaPlacement.Holders("x", Hosts(3), 2, 5));
    }

    [Fact]
    public void Shuffled_or_duplicated_host_lists_should_give_the_same_holders()
    {
        var random = new Random(19);
        for (var n = 1; n <= 8; n++)
        {
            var hosts = Hosts(n);
            for (var trial = 0; trial < 20; trial++)
            {
                // A shuffled list with some hosts repeated.
                var messy = hosts.Concat(hosts.Where(_ => random.Next(3) == 0)).OrderBy(_ => random.Next()).ToArray();
                for (var r = 1; r <= n; r++)
                for (var spread = 0; spread <= 40; spread++)
                foreach (var own in hosts.Append("rank-only"))
                    Assert.Equal(ReplicaPlacement.Holders(own, hosts, r, spread), ReplicaPlacement.Holders(own, messy, r, spread));
            }
        }
    }

    [Fact]
    public void Holders_should_follow_the_ordinal_ring_after_the_own_host_each_file_after_the_last()
    {
        // Ordinal ring: node-0, node-1, node-10, node-2; node-1's peers in order: node-10, node-2, node-0.
        // At R = 3 each file takes the next 2 peers after the previous file's 2.
        string[] hosts = ["node-2", "node-0", "node-10", "node-1"];
        Assert.Equal(new[] { "node-1", "node-10", "node-2" }, ReplicaPlacement.Holders("node-1", hosts, 3, 0));
        Assert.Equal(new[] { "node-1", "node-0", "node-10" }, ReplicaPlacement.Holders("node-1", hosts, 3, 1));
        Assert.Equal(new[] { "node-1", "node-2", "node-0" }, ReplicaPlacement.Holders("node-1", hosts, 3, 2));
        Assert.Equal(new[] { "node-1", "node-10", "node-2" }, ReplicaPlacement.Holders("node-1", hosts, 3, 3));
        Assert.Equal(new[] { "node-1", "node-2" }, ReplicaPlacement.Holders("node-1", hosts, 2, 1));
        Assert.Equal(new[] { "node-2" }, ReplicaPlacement.Holders("node-2", hosts, 1, 7));
    }

    [Fact]
    public void Three_hosts_with_four_files_each_at_R_2_should_give_each_host_4_remote_copies()
    {
        // Files ordered by rank, a host's ranks consecutive (spreads 0-3 on h0, 4-7 on h1, 8-11 on h2),
        // or ranks dealt round-robin (file i on host i mod 3): both balance exactly.
        foreach (var ownerOf in new Func<int, int>[] { i => i / 4, i => i % 3 })
        {
            var remote = new Dictionary<string, int>();
            var pairs = new Dictionary<(string, string), int>();
            for (var file = 0; file < 12; file++)
            {
                var own = $"h{ownerOf(file)}";
                var holders = ReplicaPlacement.Holders(own, Hosts(3), 2, file);
                foreach (var peer in holders.Skip(1))
                {
                    remote[peer] = remote.GetValueOrDefault(peer) + 1;
                    pairs[(own, peer)] = pairs.GetValueOrDefault((own, peer)) + 1;
                }
            }
            Assert.Equal(new Dictionary<string, int> { ["h0"] = 4, ["h1"] = 4, ["h2"] = 4 }, remote);
            // Each host sends 2 of its copies to each of its 2 peers.
            Assert.Equal(6, pairs.Count);
            Assert.All(pairs.Values, count => Assert.Equal(2, count));
        }
    }

    [Fact]
    public void A_hosts_files_with_consecutive_spreads_should_spread_their_remote_copies_within_one_of_even()
    {
        // The balance the algorithm guarantees: k files of one own host with consecutive spreads give
        // each of its n-1 peers floor or ceil of k(R-1)/(n-1) remote copies.
        for (var n = 2; n <= 8; n++)
        for (var r = 2; r <= n; r++)
        for (var k = 1; k <= 20; k++)
        for (var first = 0; first <= 10; first++)
        {
            var hosts = Hosts(n);
            var counts = hosts.Skip(1).ToDictionary(h => h, _ => 0);
            for (var spread = first; spread < first + k; spread++)
                foreach (var peer in ReplicaPlacement.Holders("h0", hosts, r, spread).Skip(1)) counts[peer]++;
            var total = k * (r - 1);
            var low = total / (n - 1);
            var high = (total + n - 2) / (n - 1);
            Assert.All(counts.Values, c => Assert.InRange(c, low, high));
            Assert.Equal(total, counts.Values.Sum());
        }
    }

    [Fact]
    public void A_rank_only_nodes_files_with_consecutive_spreads_should_spread_their_copies_within_one_of_even()
    {
        for (var n = 1; n <= 8; n++)
        for (var r = 1; r <= n; r++)
        for (var k = 1; k <= 20; k++)
        for (var first = 0; first <= 10; first++)
        {
            var hosts = Hosts(n);
            var counts = hosts.ToDictionary(h => h, _ => 0);
            for (var spread = first; spread < first + k; spread++)
                foreach (var host in ReplicaPlacement.Holders("rank-only", hosts, r, spread)) counts[host]++;
            Assert.All(counts.Values, c => Assert.InRange(c, k * r / n, (k * r + n - 1) / n));
        }
    }

    [Fact]
    public void Spreads_that_are_not_consecutive_may_pile_on_one_peer()
    {
        // Not guaranteed, and shown so: even spreads at n = 3 all go to the same peer.
        var peers = new[] { 0, 2, 4, 6 }.Select(s => ReplicaPlacement.Holders("h0", Hosts(3), 2, s)[1]).Distinct();
        Assert.Equal(new[] { "h1" }, peers);
    }

    [Fact]
    public void More_replicas_than_hosts_should_give_the_problem_text()
    {
        Assert.Equal("replicas = 3 needs 3 hosts holding memory replicas; the cluster has 2 (a, b)", ReplicaPlacement.Problem(3, ["b", "a", "b"]));
        Assert.Equal("replicas = 2 needs 2 hosts holding memory replicas; the cluster has none", ReplicaPlacement.Problem(2, []));
        Assert.Equal("replicas = 0; it must be 1 or more", ReplicaPlacement.Problem(0, ["a"]));
        Assert.Null(ReplicaPlacement.Problem(2, ["a", "b"]));
        var e = Assert.Throws<ArgumentException>(() => ReplicaPlacement.Holders("a", ["a", "b"], 3, 0));
        Assert.StartsWith("replicas = 3 needs 3 hosts holding memory replicas; the cluster has 2 (a, b)", e.Message);
        var many = Enumerable.Range(0, 12).Select(i => $"n{i:00}").ToArray();
        Assert.Equal("replicas = 13 needs 13 hosts holding memory replicas; the cluster has 12 (n00, n01, n02, n03, n04, n05, n06, n07, n08, n09 and 2 more)", ReplicaPlacement.Problem(13, many));
        for (var n = 0; n <= 8; n++)
            Assert.NotNull(ReplicaPlacement.Problem(n + 1, Hosts(n)));
    }

    [Fact]
    public void Replace_should_never_return_a_current_holder_and_be_deterministic()
    {
        for (var n = 1; n <= 7; n++)
        {
            var hosts = Hosts(n);
            // Every non-empty subset of hosts as the current holders, in ring and in reversed order.
            for (var mask = 1; mask < 1 << n; mask++)
            {
                var current = hosts.Where((_, i) => (mask & 1 << i) != 0).ToArray();
                foreach (var lost in current)
                {
                    var taker = ReplicaPlacement.Replace(current, lost, hosts);
                    if (current.Length == n) Assert.Null(taker);
                    else
                    {
                        Assert.NotNull(taker);
                        Assert.DoesNotContain(taker, current);
                        Assert.Contains(taker, hosts);
                    }
                    Assert.Equal(taker, ReplicaPlacement.Replace(current.Reverse().ToArray(), lost, hosts.Reverse().Concat(hosts).ToArray()));
                    // The lost host gone from the candidates gives the same answer.
                    Assert.Equal(taker, ReplicaPlacement.Replace(current, lost, hosts.Where(h => h != lost).ToArray()));
                }
            }
        }
    }

    [Fact]
    public void Replace_should_take_the_first_ring_host_after_the_lost_one_holding_no_copy()
    {
        string[] hosts = ["a", "b", "c", "d", "e"];
        Assert.Equal("c", ReplicaPlacement.Replace(["b", "d"], "b", hosts));
        Assert.Equal("e", ReplicaPlacement.Replace(["d", "a"], "d", hosts));
        Assert.Equal("b", ReplicaPlacement.Replace(["e", "a"], "e", hosts));   // wraps round the ring
        Assert.Equal("c", ReplicaPlacement.Replace(["bb", "a"], "bb", hosts));  // lost already left: its place in the ring
        Assert.Null(ReplicaPlacement.Replace(["a", "b"], "a", ["a", "b"]));
        Assert.StartsWith("host c holds no copy of this file (holders: a, b)", Assert.Throws<ArgumentException>(() => ReplicaPlacement.Replace(["a", "b"], "c", hosts)).Message);
    }
}
