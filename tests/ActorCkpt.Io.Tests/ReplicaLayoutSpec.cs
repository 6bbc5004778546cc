namespace ActorCkpt.Io.Tests;

/// <summary>Names in a replica store: the namespace of a root, replica and temporary names, and what parses as one.</summary>
public class ReplicaLayoutSpec
{
    [Fact]
    public void The_namespace_should_be_16_hex_digits_of_the_root_path_the_same_on_every_node()
    {
        var ns = ReplicaLayout.Namespace("/mnt/ckpt/job-a");

        Assert.Matches("^[0-9a-f]{16}$", ns);
        Assert.Equal(ns, ReplicaLayout.Namespace("/mnt/ckpt/job-a"));
        Assert.NotEqual(ns, ReplicaLayout.Namespace("/mnt/ckpt/job-b"));
        Assert.True(ReplicaLayout.IsNamespace(ns));
        Assert.Throws<ArgumentException>(() => ReplicaLayout.Namespace("relative/root"));
    }

    [Fact]
    public void Replica_and_temporary_names_should_parse_back_and_anything_else_should_not()
    {
        const string file = "r00003-000-1a2b3c4d.safetensors";
        var temp = ReplicaLayout.TempName(file, 4242, "9f8e7d6c");

        Assert.Equal("r00003-000-1a2b3c4d.safetensors.replica", ReplicaLayout.ReplicaName(file));
        Assert.Equal(".r00003-000-1a2b3c4d.safetensors.replica.4242-9f8e7d6c.tmp", temp);
        Assert.True(ReplicaLayout.TryParse(ReplicaLayout.ReplicaName(file), out var parsed, out var pid));
        Assert.Equal((file, (int?)null), (parsed, pid));
        Assert.True(ReplicaLayout.TryParse(temp, out parsed, out pid));
        Assert.Equal((file, (int?)4242), (parsed, pid));

        foreach (var name in new[] { "metadata.json", ".replica", ".x.replica", "x.replica.tmp", ".x.replica.12.tmp", ".x.replica.0-a.tmp",
                     ".x.replica.-5-a.tmp", ".x.replica.5-.tmp", ".x.safetensors.5-a.tmp", ".x.replica.5-a/b.tmp" })
            Assert.False(ReplicaLayout.TryParse(name, out _, out _), name);
        Assert.Throws<ArgumentException>(() => ReplicaLayout.ReplicaName(".hidden"));
        Assert.Throws<ArgumentException>(() => ReplicaLayout.ReplicaName("a/b"));
        Assert.Equal("step-00000012", ReplicaLayout.StepDirectory(12));
    }
}
