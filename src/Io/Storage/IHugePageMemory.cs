namespace ActorCkpt;

/// <summary>
/// A <see cref="System.Buffers.MemoryManager{T}"/> that may have mapped its memory in transparent huge
/// pages. The kernel reaches such memory 2 MiB at a time, so a file write straight from it runs at
/// memory speed where one from 4 KiB pages may not (<see cref="CopiedWrites"/>); writers then skip
/// the copy into a pooled buffer.
/// </summary>
internal interface IHugePageMemory
{
    /// <summary>Whether the memory was mapped on its own and advised into huge pages.</summary>
    bool InHugePages { get; }
}
