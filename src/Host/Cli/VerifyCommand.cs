using ActorCkpt.Io;

namespace ActorCkpt.Host.Cli;

/// <summary><c>actorckpt verify DIR [--step S]</c>: recompute every checksum of a committed step.</summary>
public static class VerifyCommand
{
    /// <summary>Verifies; returns 0 when every byte matches, 1 when something is bad (one line per bad file and tensor).</summary>
    public static int Run(string dir, long? step, CliOutput output)
    {
        var store = CheckpointDirectory.Open(dir);
        var target = store.ResolveStep(step);
        var metadata = store.ReadMetadata(target);
        var failures = CheckpointVerifier.Verify(store, target);
        foreach (var f in failures) output.Line(f.ToString());
        var chunks = metadata.Tensors.Values.Sum(t => t.Chunks.Count) + metadata.Objects.Count;
        output.Line(failures.Count == 0
            ? $"OK step {target}: {metadata.Files.Count} files, {chunks} chunks and entries verified"
            : $"FAILED step {target}: {failures.Count} problems");
        return failures.Count == 0 ? 0 : 1;
    }
}
