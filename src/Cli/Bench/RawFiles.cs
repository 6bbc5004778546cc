using System.Diagnostics;
using System.Runtime.InteropServices;

namespace ActorCkpt.Cli.Bench;

/// <summary>
/// The raw baseline of <c>actorckpt bench</c>: the data files of a save (as many, each as long,
/// grouped by the writer that wrote it) written from plain native buffers with
/// <see cref="RandomAccess"/> and fsynced, then read back into the same buffers: the limit a save
/// and a load of those bytes could reach through the file system. The buffers are allocated and
/// touched (every page written) when this is made, before any clock starts; dispose it to free them.
/// </summary>
internal sealed unsafe class RawFiles : IDisposable
{
    /// <summary>
    /// Bytes per write and read call. Measured on tmpfs (1 GiB in 4 files, 4 threads, alternating
    /// 1, 4, 8 and 64 MiB and whole files) the call size made no difference beyond noise: the
    /// kernel's copy into freshly allocated pages is the cost. 4 MiB keeps every call well below
    /// the 2 GiB a single call accepts and is what fio's raw figures in bench/compare.py use.
    /// </summary>
    public const int CallBytes = 4 << 20;

    private readonly (long Length, IntPtr Buffer)[][] _byWriter;

    /// <summary>
    /// Allocates and fills one buffer per file of <paramref name="lengths"/> (file lengths grouped
    /// by writer: each group is written and read by one thread, its files in order).
    /// </summary>
    public RawFiles(IReadOnlyList<IReadOnlyList<long>> lengths)
    {
        _byWriter = lengths.Select(group => group.Select(n =>
        {
            var buffer = (IntPtr)NativeMemory.AlignedAlloc((nuint)Math.Max(1, n), 4096);
            // Non-zero bytes on every page: the pages are resident before the clock, and nothing
            // on the way (a file system that compresses or skips zero pages) gets an easy case.
            for (long at = 0; at < n; at += int.MaxValue)
                new Span<byte>((byte*)buffer + at, (int)Math.Min(n - at, int.MaxValue)).Fill(0x5A);
            return (n, buffer);
        }).ToArray()).ToArray();
    }

    /// <summary>The files of a save's metadata, grouped by the writer that wrote each (in the save's order).</summary>
    public static RawFiles Like(CheckpointMetadata metadata) =>
        new(metadata.Files.GroupBy(f => (f.Node, f.Writer)).Select(g => (IReadOnlyList<long>)g.Select(f => f.Length).ToArray()).ToArray());

    /// <summary>How many files.</summary>
    public int Files => _byWriter.Sum(g => g.Length);

    /// <summary>How many threads write and read (one per writer of the save).</summary>
    public int Threads => _byWriter.Length;

    /// <summary>Bytes of all files.</summary>
    public long Bytes => _byWriter.Sum(g => g.Sum(f => f.Length));

    /// <summary>
    /// Writes every file into <paramref name="directory"/> (created; it must not hold them yet),
    /// each fsynced, one thread per writer group; returns the time from the first open to the last fsync.
    /// </summary>
    public TimeSpan Write(string directory)
    {
        Directory.CreateDirectory(directory);
        return OnThreads((w, f) =>
        {
            var (length, buffer) = _byWriter[w][f];
            using var handle = File.OpenHandle(FileName(directory, w, f), FileMode.CreateNew, FileAccess.Write);
            for (long at = 0; at < length; at += CallBytes)
                RandomAccess.Write(handle, new ReadOnlySpan<byte>((byte*)buffer + at, (int)Math.Min(CallBytes, length - at)), at);
            RandomAccess.FlushToDisk(handle);
        });
    }

    /// <summary>Reads every file <see cref="Write"/> wrote in <paramref name="directory"/> back into its buffer, one thread per writer group.</summary>
    public TimeSpan Read(string directory) => OnThreads((w, f) =>
    {
        var (length, buffer) = _byWriter[w][f];
        using var handle = File.OpenHandle(FileName(directory, w, f), FileMode.Open, FileAccess.Read);
        for (long at = 0; at < length;)
        {
            var n = RandomAccess.Read(handle, new Span<byte>((byte*)buffer + at, (int)Math.Min(CallBytes, length - at)), at);
            if (n == 0) throw new EndOfStreamException($"'{FileName(directory, w, f)}' ends at byte {at} of {length}");
            at += n;
        }
    });

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var group in _byWriter)
            foreach (var (_, buffer) in group)
                NativeMemory.AlignedFree((void*)buffer);
    }

    private static string FileName(string directory, int writer, int file) => Path.Combine(directory, $"writer-{writer}-file-{file}.bin");

    /// <summary>
    /// Runs <paramref name="perFile"/> for every file, one dedicated thread per writer group started
    /// before the clock, released together: no thread-pool injection delay in the time.
    /// </summary>
    private TimeSpan OnThreads(Action<int, int> perFile)
    {
        using var start = new ManualResetEventSlim();
        var errors = new Exception?[_byWriter.Length];
        var threads = Enumerable.Range(0, _byWriter.Length).Select(w => new Thread(() =>
        {
            start.Wait();
            try
            {
                for (var f = 0; f < _byWriter[w].Length; f++) perFile(w, f);
            }
            catch (Exception e)
            {
                errors[w] = e;
            }
        }) { IsBackground = true, Name = $"raw-{w}" }).ToArray();
        foreach (var t in threads) t.Start();
        var clock = Stopwatch.StartNew();
        start.Set();
        foreach (var t in threads) t.Join();
        var elapsed = clock.Elapsed;
        if (errors.FirstOrDefault(e => e is not null) is { } error) throw new IOException($"raw baseline: {error.Message}", error);
        return elapsed;
    }
}
