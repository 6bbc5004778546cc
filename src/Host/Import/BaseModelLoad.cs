
namespace ActorCkpt;

/// <summary>What a base-model load did.</summary>
/// <param name="Result">As an ordinary load reports it (step 0, saved on one rank; no non-tensor entries).</param>
/// <param name="Warnings">Mismatched keys to log, under the log_* strictness modes.</param>
/// <param name="SourceKeys">For each tensor of the files, its name after the key mapping → its name in the files.</param>
public sealed record BaseModelLoad(LoadResult Result, IReadOnlyList<string> Warnings, IReadOnlyDictionary<string, string> SourceKeys);
