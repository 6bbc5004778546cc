namespace ActorCkpt;

/// <summary>A data file of a checkpoint.</summary>
/// <param name="Name">File name inside the step directory.</param>
/// <param name="Length">File length in bytes.</param>
/// <param name="Rank">The rank whose bytes it holds.</param>
/// <param name="Writer">Index of the writer that wrote it.</param>
/// <param name="Node">Address of the node whose writer wrote it.</param>
public sealed record DataFileMetadata(string Name, long Length, int Rank, int Writer, string Node = "");
