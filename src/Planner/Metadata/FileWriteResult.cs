namespace ActorCkpt;

/// <summary>A writer's report on one data file, written and fsynced.</summary>
/// <param name="FileName">File name inside the step directory.</param>
/// <param name="Length">File length in bytes.</param>
/// <param name="Items">One entry per item of the file.</param>
/// <param name="HeaderChecksum">xxHash3-64 (16 hex digits) of the safetensors header it wrote; empty when none was computed.</param>
internal sealed record FileWriteResult(string FileName, long Length, IReadOnlyList<WrittenItem> Items, string HeaderChecksum = "");
