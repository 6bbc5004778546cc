using System.Diagnostics;
using System.Runtime.InteropServices;

namespace ActorCkpt.Cli.Bench;

/// <summary>
/// The raw baseline of <c>actorckpt bench</c>: the data files of a save (as many, each as long,
/// grouped by the writer that wrote it) written from plain native memory with
/// <see cref="RandomAccess"/> and fsynced, then read back into it: the limit a save and a load of
/// those bytes could reach through the file system. Each thread has one buffer of up to
/// <see cref="BufferBytes"/>, allocated and touched (every page written, by the kernel and by the
/// process) when this is made, before any clock starts, and cycles through it; dispose this to free them.
/// </summary>
/// <remarks>
/// Why this and not the old baseline (one file per rank written from the tensors): measured in one
/// process, alternating (1 GiB and 512 MiB on tmpfs, 2 ranks), the old path was not slower per byte
/// than plain buffers (0.26–0.34 s against 0.17–0.32 s for 512 MiB); its 1–2 s figures were single
/// measurements at one moment of a loaded machine, where a plain C writer too took 0.8–4.4 s for
/// 1 GiB (perf: the kernel's copy into newly allocated tmpfs pages, copy_folio_from_iter_atomic,
/// page faults and clear_page, is the cost). What makes a baseline the limit is therefore measuring
/// it beside the save, in every run, over the same files and threads, with nothing on its path but
/// the write call: no tensor, no allocation, no thread-pool start-up (threads are started first).
/// One thread per writer of the save (4 by default): 2 threads (one per core) and 1 measured the
/// same within the noise, and the save's own parallelism is the like-for-like limit.
/// </remarks>
internal sealed unsafe class RawFiles : IDisposable
{
    /// <summary>
    /// Bytes per write and read call. Measured on tmpfs (512 MiB in 4 files, 4 threads, alternating
    /// 1, 4, 8 and 64 MiB calls) the call size made no difference beyond noise: the
    /// kernel's copy into freshly allocated pages is the cost. 4 MiB keeps every call well below
    /// the 2 GiB a single call accepts and is what fio's raw figures in bench/compare.py use.
    /// </summary>
    public const int CallBytes = 4 << 20;

    /// <summary>
    /// The most memory one thread writes from and reads into (a multiple of <see cref="CallBytes"/>):
    /// twice the 32 MiB last-level cache of these machines, so every call streams from and to
    /// memory as a save's staged bytes do, without holding a second copy of the checkpoint in RAM.
    /// </summary>
    public const int BufferBytes = 64 << 20;

    private readonly long[][] _byWriter;
    private readonly (IntPtr Pointer, long Length)[] _buffers;

    /// <summary>
    /// Allocates and fills each thread's buffer for <paramref name="lengths"/> (file lengths grouped
    /// by writer: each group is written and read by one thread, its files in order).
    /// </summary>
    public RawFiles(IReadOnlyList<IReadOnlyList<long>> lengths)
    {
        _byWriter = lengths.Select(g => g.ToArray()).ToArray();
        _buffers = _byWriter.Select(group =>
        {
            var n = Math.Max(1, Math.Min(BufferBytes, group.DefaultIfEmpty(0).Max()));
            var buffer = (IntPtr)NativeMemory.AlignedAlloc((nuint)n, 4096);
            WarmForKernel(new Span<byte>((void*)buffer, (int)n));
            // Non-zero bytes on every page: the pages are resident before the clock, and nothing
            // on the way (a file system that compresses or skips zero pages) gets an easy case.
            new Span<byte>((void*)buffer, (int)n).Fill(0x5A);
            return (buffer, n);
        }).ToArray();
    }

    /// <summary>
    /// Has the kernel write every page of <paramref name="buffer"/> once (a read from /dev/zero), so
    /// that the clock never holds the kernel's first access to a page of it: on these machines' PVM
    /// guests that costs several microseconds a page even after the process wrote the page (1 GiB
    /// written from a tensor the kernel had not touched: 1.7–2.2 s; after such a read: 0.19–0.20 s;
    /// docs/benchmarks.md). The save's own writes go through small reused buffers for the same reason.
    /// </summary>
    private static void WarmForKernel(Span<byte> buffer)
    {
        if (!File.Exists("/dev/zero")) return;
        using var zero = File.OpenHandle("/dev/zero");
        for (var at = 0; at < buffer.Length;)
            at += Math.Max(1, RandomAccess.Read(zero, buffer.Slice(at, Math.Min(CallBytes, buffer.Length - at)), 0));
    }

    /// <summary>The files of a save's metadata, grouped by the writer that wrote each (in the save's order).</summary>
    public static RawFiles Like(CheckpointMetadata metadata) =>
        new(metadata.Files.GroupBy(f => (f.Node, f.Writer)).Select(g => (IReadOnlyList<long>)g.Select(f => f.Length).ToArray()).ToArray());

    /// <summary>How many files.</summary>
    public int Files => _byWriter.Sum(g => g.Length);

    /// <summary>How many threads write and read (one per writer of the save).</summary>
    public int Threads => _byWriter.Length;

    /// <summary>Bytes of all files.</summary>
    public long Bytes => _byWriter.Sum(g => g.Sum());

    /// <summary>
    /// Writes every file into <paramref name="directory"/> (created; it must not hold them yet),
    /// each fsynced, one thread per writer group; returns the time from the first open to the last fsync.
    /// </summary>
    public TimeSpan Write(string directory)
    {
        Directory.CreateDirectory(directory);
        return OnThreads((w, f) =>
        {
            var length = _byWriter[w][f];
            using var handle = File.OpenHandle(FileName(directory, w, f), FileMode.CreateNew, FileAccess.Write);
            for (long at = 0; at < length; at += CallBytes)
                RandomAccess.Write(handle, Span(w, at, (int)Math.Min(CallBytes, length - at)), at);
            RandomAccess.FlushToDisk(handle);
        });
    }

    /// <summary>Reads every file <see cref="Write"/> wrote in <paramref name="directory"/> back into its buffer, one thread per writer group.</summary>
    public TimeSpan Read(string directory) => OnThreads((w, f) =>
    {
        var length = _byWriter[w][f];
        using var handle = File.OpenHandle(FileName(directory, w, f), FileMode.Open, FileAccess.Read);
        for (long at = 0; at < length;)
        {
            // After a short read the next call starts off a multiple of CallBytes: Span then
            // wraps to the top of the buffer rather than overrun it.
            var n = RandomAccess.Read(handle, Span(w, at, (int)Math.Min(CallBytes, length - at)), at);
            if (n == 0) throw new EndOfStreamException($"'{FileName(directory, w, f)}' ends at byte {at} of {length}");
            at += n;
        }
    });

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var (buffer, _) in _buffers) NativeMemory.AlignedFree((void*)buffer);
    }

    /// <summary>Where file offset <paramref name="at"/> of thread <paramref name="w"/>'s files goes in its buffer (cycling through it).</summary>
    private Span<byte> Span(int w, long at, int n)
    {
        var (buffer, length) = _buffers[w];
        var start = at % length;
        if (start + n > length) start = 0;
        return new Span<byte>((byte*)buffer + start, n);
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
