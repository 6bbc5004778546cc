namespace ActorCkpt;

/// <summary>A data file of a checkpoint.</summary>
/// <param name="Name">File name inside the step directory.</param>
/// <param name="Length">File length in bytes.</param>
/// <param name="Rank">The rank whose bytes it holds.</param>
/// <param name="Writer">Index of the writer that wrote it.</param>
/// <param name="Node">Address of the node whose writer wrote it.</param>
/// <param name="HeaderChecksum">
/// xxHash3-64 (16 hex digits) of the file's safetensors header as written (the 8-byte length and
/// the padded JSON), so that a header rewritten afterwards is caught; empty in documents written
/// before it was recorded.
/// </param>
public sealed record DataFileMetadata(string Name, long Length, int Rank, int Writer, string Node = "", string HeaderChecksum = "");
