using System.Runtime.InteropServices;
using ActorCkpt.Cli.Bench;

namespace ActorCkpt.Cli.Tests;

/// <summary>Specs that read the process's resident memory run alone: another test's allocations would move it.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessMemoryCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "process memory";
}

/// <summary>The tool's process gives freed tensor-sized blocks back to the system at once.</summary>
[Collection(ProcessMemoryCollection.Name)]
public class ProcessMallocSpec
{
    [Fact]
    public unsafe void With_the_threshold_fixed_blocks_of_a_few_MiB_should_leave_the_process_when_freed()
    {
        Assert.True(ProcessMalloc.FixMmapThreshold());

        // Freeing a 16 MiB block would raise a dynamic threshold to 16 MiB, and blocks of 8 MiB would
        // then come from an arena and stay there. A small block allocated after them pins the arena's
        // top, so only unmapping can give them back.
        NativeMemory.Free(NativeMemory.Alloc(16 << 20));
        const int block = 8 << 20, count = 16;
        var blocks = Enumerable.Range(0, count).Select(_ => (IntPtr)NativeMemory.Alloc(block)).ToArray();
        foreach (var b in blocks) new Span<byte>((void*)b, block).Fill(1);
        var pin = NativeMemory.Alloc(1024);
        var held = ProcessMemory.ResidentBytes;
        foreach (var b in blocks) NativeMemory.Free((void*)b);
        var after = ProcessMemory.ResidentBytes;
        NativeMemory.Free(pin);

        Assert.True(held - after >= (long)block * count * 3 / 4, $"{held - after} of {block * count} bytes left the process when freed");
    }
}
