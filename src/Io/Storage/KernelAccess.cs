using System.Buffers;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace ActorCkpt;

/// <summary>
/// Whether file writes go straight from tensor memory, or through a pooled buffer
/// (<see cref="CopiedWrites"/>). On some hypervisors (the PVM guests some of our machines ran on)
/// the kernel's first access to each 4 KiB page of a process's memory costs several microseconds, so
/// a write straight from 1 GiB of tensors took 0.9–2.2 s against 0.15 s through a buffer; elsewhere
/// the buffer is only one more copy of every byte. The choice is the process's
/// (<c>actorckpt.io.copy-writes</c>): on, off, or auto, where a probe at start times both ways on
/// fresh memory and goes straight only when that is no slower than <see cref="StraightAtMost"/>
/// times the copy. Until the probe has answered, bytes are copied: the safe way on every machine.
/// Reads keep their copy (<see cref="CopiedReads"/>, <c>ChunkReader</c>): straight reads into load
/// targets measured no faster here, and the copy lets a block be checked before it reaches a tensor.
/// </summary>
internal static class KernelAccess
{
    /// <summary>How much slower than the copy a straight write or read may be in the probe and still be chosen.</summary>
    public const double StraightAtMost = 1.5;

    private const int ProbeBytes = 32 << 20, Piece = 4 << 20;
    private static readonly object Gate = new();
    private static volatile bool _straight;
    private static Task<KernelAccessProbe?>? _probe;
    private static CopyWrites _setting = CopyWrites.Auto;

    /// <summary>True when writes go straight from tensor memory; false while they are copied through a buffer.</summary>
    public static bool Straight => _straight;

    /// <summary>The probe's figures, once it ran in this process (null before, or when it could not run).</summary>
    public static KernelAccessProbe? Probe => _probe is { IsCompletedSuccessfully: true } done ? done.Result : null;

    /// <summary>
    /// Applies a node's setting to the process: on copies, off goes straight, auto starts the probe
    /// (once per process) and goes as it finds. The task completes when the choice is made.
    /// </summary>
    public static Task Configure(CopyWrites setting)
    {
        Task<KernelAccessProbe?> probe;
        lock (Gate)
        {
            _setting = setting;
            if (setting != CopyWrites.Auto)
            {
                _straight = setting == CopyWrites.Off;
                return Task.CompletedTask;
            }
            probe = _probe ??= Task.Run(RunProbe);
            if (probe.IsCompletedSuccessfully) _straight = probe.Result?.Straight ?? false;
        }
        return probe;
    }

    /// <summary>Whether a way timed at <paramref name="straightSeconds"/> against a copy at <paramref name="copiedSeconds"/> may go straight.</summary>
    public static bool Decide(double straightSeconds, double copiedSeconds) => straightSeconds <= copiedSeconds * StraightAtMost;

    private static KernelAccessProbe? RunProbe()
    {
        KernelAccessProbe? probe = null;
        try
        {
            probe = OperatingSystem.IsLinux() ? Measure() : null;
        }
        catch (Exception)
        {
            // No memfd, no mmap: the copy stays, as before the probe.
        }
        lock (Gate)
            if (_setting == CopyWrites.Auto) _straight = probe?.Straight ?? false;
        return probe;
    }

    /// <summary>
    /// Times writing <see cref="ProbeBytes"/> of fresh process memory to an in-memory file (memfd),
    /// straight and through a 1 MiB buffer; two rounds in alternating order, the faster of each way kept.
    /// </summary>
    internal static KernelAccessProbe Measure()
    {
        var fd = MemfdCreate("actorckpt-kernel-access", 1 /* MFD_CLOEXEC */);
        if (fd < 0) throw new IOException($"memfd_create failed: errno {Marshal.GetLastPInvokeError()}");
        using var file = new SafeFileHandle(fd, ownsHandle: true);
        var buffer = ArrayPool<byte>.Shared.Rent(CopiedWrites.BufferBytes);
        double straightWrite = double.MaxValue, copiedWrite = double.MaxValue;
        try
        {
            for (var round = 0; round < 2; round++)
            {
                for (var way = 0; way < 2; way++)
                {
                    var straight = (way + round) % 2 == 0;
                    using var source = FreshPages.Touched((byte)(round + 1));
                    if (Ftruncate(fd, 0) != 0) throw new IOException("ftruncate failed");
                    var clock = Stopwatch.StartNew();
                    if (straight)
                        for (var at = 0; at < ProbeBytes; at += Piece) RandomAccess.Write(file, source.Span.Slice(at, Piece), at);
                    else
                        for (var at = 0; at < ProbeBytes; at += buffer.Length)
                        {
                            var piece = buffer.AsSpan(0, Math.Min(buffer.Length, ProbeBytes - at));
                            source.Span.Slice(at, piece.Length).CopyTo(piece);
                            RandomAccess.Write(file, piece, at);
                        }
                    var seconds = clock.Elapsed.TotalSeconds;
                    if (straight) straightWrite = Math.Min(straightWrite, seconds);
                    else copiedWrite = Math.Min(copiedWrite, seconds);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return new KernelAccessProbe(straightWrite, copiedWrite);
    }

    /// <summary>Process memory in 4 KiB pages that the process has written and the kernel has not yet reached.</summary>
    private sealed unsafe class FreshPages : IDisposable
    {
        private readonly byte* _pointer;

        private FreshPages(byte* pointer) => _pointer = pointer;

        public Span<byte> Span => new(_pointer, ProbeBytes);

        public static FreshPages Touched(byte value)
        {
            // Small pages, as a tensor's: huge ones would hide the cost per page the probe looks for.
            var p = AnonymousMappings.Map(ProbeBytes, hugePages: false);
            if (p == null) throw new IOException($"mmap failed: errno {Marshal.GetLastPInvokeError()}");
            var pages = new FreshPages(p);
            pages.Span.Fill(value);
            return pages;
        }

        public void Dispose() => AnonymousMappings.Unmap(_pointer, ProbeBytes);
    }

    [DllImport("libc", EntryPoint = "memfd_create", SetLastError = true)]
    private static extern int MemfdCreate(string name, uint flags);

    [DllImport("libc", EntryPoint = "ftruncate", SetLastError = true)]
    private static extern int Ftruncate(int fd, long length);
}

/// <summary>What the kernel-access probe timed, in seconds for 32 MiB each way (<see cref="KernelAccess"/>).</summary>
/// <param name="StraightWriteSeconds">A write straight from fresh process memory.</param>
/// <param name="CopiedWriteSeconds">The same write through a 1 MiB buffer.</param>
internal sealed record KernelAccessProbe(double StraightWriteSeconds, double CopiedWriteSeconds)
{
    /// <summary>Whether writes may go straight.</summary>
    public bool Straight => KernelAccess.Decide(StraightWriteSeconds, CopiedWriteSeconds);
}

/// <summary>The setting <c>actorckpt.io.copy-writes</c>: whether file writes copy through a pooled buffer.</summary>
internal enum CopyWrites
{
    /// <summary>As a probe at start finds (copying until it has answered).</summary>
    Auto,

    /// <summary>Always through a buffer (for hypervisors where the kernel's first access to a process's pages is slow).</summary>
    On,

    /// <summary>Never: straight from tensor memory.</summary>
    Off,
}
