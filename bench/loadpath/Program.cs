using System.Diagnostics;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace LoadPathBench;

/// <summary>
/// Reads (or writes) the same files on the same threads in several ways, alternating their order
/// each round, and prints every round's seconds per way and the medians as one JSON line. The ways
/// are the bench's raw baseline, the path ActorCkpt's loads and saves take (ChunkReader,
/// DataFileStreamWriter), and variants of it, so that what the path costs beyond the raw one is
/// measured apart from the rest of a load or save.
/// </summary>
public static unsafe class Program
{
    private const int Block = 1 << 20;       // the checksum block of a 16 MiB tensor (checksum-block-size 1 MiB)
    private const int RawCall = 4 << 20;     // the raw baseline's read and write calls
    private const int RawBuffer = 64 << 20;  // the raw baseline's buffer per thread
    private const int Piece = 512 << 10;     // DataFileStreamWriter.PieceSize: hashed, then copied and written
    private const int Fused = 64 << 10;      // the hash-and-copy piece of the fused variant

    private static readonly string[] ReadWays = ["raw-read", "raw-read-1m", "verified", "unhashed", "fused", "straight"];
    private static readonly string[] WriteWays = ["raw-write", "raw-write-whole", "checksummed", "unhashed-write"];

    public static int Main(string[] args)
    {
        var dir = Value(args, "--dir", "/dev/shm/loadpath");
        var sizeMb = int.Parse(Value(args, "--size-mb", "1024"));
        var threads = int.Parse(Value(args, "--threads", "2"));
        var rounds = int.Parse(Value(args, "--rounds", "9"));
        var ways = Value(args, "--ways", "read") == "write" ? WriteWays : ReadWays;
        var perThread = (long)sizeMb * (1 << 20) / threads / Block * Block;
        Directory.CreateDirectory(dir);
        var files = Enumerable.Range(0, threads).Select(t => Path.Combine(dir, $"part-{t}")).ToArray();
        var sources = Enumerable.Range(0, threads).Select(_ => (nint)Touched(perThread, fill: true)).ToArray();
        var targets = Enumerable.Range(0, threads).Select(_ => (nint)Touched(perThread, fill: false)).ToArray();
        var raw = Enumerable.Range(0, threads).Select(_ => (nint)Touched(RawBuffer, fill: false)).ToArray();
        try
        {
            Parallel.For(0, threads, t => WriteAll(files[t], (byte*)sources[t], perThread));
            var times = ways.ToDictionary(w => w, _ => new List<double>());
            foreach (var w in ways) Run(w, files, sources, targets, raw, perThread); // compile and warm every way first
            for (var r = 0; r < rounds; r++)
                foreach (var w in r % 2 == 0 ? ways : ways.Reverse())
                    times[w].Add(Run(w, files, sources, targets, raw, perThread));
            var medians = times.ToDictionary(p => p.Key, p => Median(p.Value));
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                dir, size_mb = sizeMb, threads, rounds, medians,
                runs = times.ToDictionary(p => p.Key, p => p.Value.Select(v => Math.Round(v, 4))),
            }));
            return 0;
        }
        finally
        {
            foreach (var f in files) File.Delete(f);
            foreach (var p in sources.Concat(targets).Concat(raw)) NativeMemory.AlignedFree((void*)p);
        }
    }

    /// <summary>One way over every thread's file at once; its wall seconds.</summary>
    private static double Run(string way, string[] files, nint[] sources, nint[] targets, nint[] raw, long length)
    {
        var clock = Stopwatch.StartNew();
        Parallel.For(0, files.Length, new ParallelOptions { MaxDegreeOfParallelism = files.Length }, t =>
        {
            switch (way)
            {
                case "raw-read": RawRead(files[t], (byte*)raw[t], length, RawCall); break;
                case "raw-read-1m": RawRead(files[t], (byte*)raw[t], length, Block); break;
                case "verified": Verified(files[t], (byte*)targets[t], length); break;
                case "unhashed": Unhashed(files[t], (byte*)targets[t], length); break;
                case "fused": FusedRead(files[t], (byte*)targets[t], length); break;
                case "straight": Straight(files[t], (byte*)targets[t], length); break;
                case "raw-write": RawWrite(files[t], (byte*)raw[t], length, RawBuffer); break;
                case "raw-write-whole": RawWrite(files[t], (byte*)sources[t], length, length); break;
                case "checksummed": SavePath(files[t], (byte*)sources[t], length, hash: true); break;
                case "unhashed-write": SavePath(files[t], (byte*)sources[t], length, hash: false); break;
            }
        });
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>The bench's raw read: the file into one reused buffer, <paramref name="call"/> bytes a call.</summary>
    private static void RawRead(string file, byte* buffer, long length, int call)
    {
        using var h = File.OpenHandle(file);
        for (long at = 0; at < length; at += call)
            RandomAccess.Read(h, new Span<byte>(buffer + at % RawBuffer, (int)Math.Min(call, length - at)), at);
    }

    /// <summary>The load's path (ChunkReader): a block into a reused buffer, its checksum, then copied into the target.</summary>
    private static void Verified(string file, byte* target, long length)
    {
        using var h = File.OpenHandle(file);
        var buffer = new byte[Block];
        for (long at = 0; at < length; at += Block)
        {
            RandomAccess.Read(h, buffer, at);
            Check(XxHash3.HashToUInt64(buffer));
            buffer.AsSpan().CopyTo(new Span<byte>(target + at, Block));
        }
    }

    /// <summary>The load's path without the checksum.</summary>
    private static void Unhashed(string file, byte* target, long length)
    {
        using var h = File.OpenHandle(file);
        var buffer = new byte[Block];
        for (long at = 0; at < length; at += Block)
        {
            RandomAccess.Read(h, buffer, at);
            buffer.AsSpan().CopyTo(new Span<byte>(target + at, Block));
        }
    }

    /// <summary>A block into the buffer, then hashed and copied on 64 KiB at a time (each piece still in L1/L2 for the copy).</summary>
    private static void FusedRead(string file, byte* target, long length)
    {
        using var h = File.OpenHandle(file);
        var buffer = new byte[Block];
        var hash = new XxHash3();
        for (long at = 0; at < length; at += Block)
        {
            RandomAccess.Read(h, buffer, at);
            hash.Reset();
            for (var p = 0; p < Block; p += Fused)
            {
                var piece = buffer.AsSpan(p, Fused);
                hash.Append(piece);
                piece.CopyTo(new Span<byte>(target + at + p, Fused));
            }
            Check(hash.GetCurrentHashAsUInt64());
        }
    }

    /// <summary>Each block read straight into the target, then hashed there (no copy).</summary>
    private static void Straight(string file, byte* target, long length)
    {
        using var h = File.OpenHandle(file);
        for (long at = 0; at < length; at += Block)
        {
            var span = new Span<byte>(target + at, Block);
            RandomAccess.Read(h, span, at);
            Check(XxHash3.HashToUInt64(span));
        }
    }

    /// <summary>
    /// The bench's raw write: 4 MiB a call from a buffer of <paramref name="bufferBytes"/> (the bench's
    /// reused 64 MiB, or the whole source: every byte distinct, as a save's), fsynced; into memory a
    /// delete has just freed, as every way here.
    /// </summary>
    private static void RawWrite(string file, byte* buffer, long length, long bufferBytes)
    {
        File.Delete(file);
        using var h = File.OpenHandle(file, FileMode.CreateNew, FileAccess.Write);
        for (long at = 0; at < length; at += RawCall)
            RandomAccess.Write(h, new ReadOnlySpan<byte>(buffer + at % bufferBytes, (int)Math.Min(RawCall, length - at)), at);
        RandomAccess.FlushToDisk(h);
    }

    /// <summary>
    /// The save's path (DataFileStreamWriter over CopiedWrites): each piece of the source hashed, copied
    /// into a reused buffer and written from there, fsynced; with <paramref name="hash"/> off, the same without the checksum.
    /// </summary>
    private static void SavePath(string file, byte* source, long length, bool hash)
    {
        File.Delete(file);
        using var h = File.OpenHandle(file, FileMode.CreateNew, FileAccess.Write);
        var hasher = new XxHash3();
        var buffer = new byte[Piece];
        for (long at = 0; at < length; at += Piece)
        {
            var piece = new ReadOnlySpan<byte>(source + at, Piece);
            if (hash)
            {
                hasher.Append(piece);
                if ((at + Piece) % Block == 0)
                {
                    Check(hasher.GetCurrentHashAsUInt64());
                    hasher.Reset();
                }
            }
            piece.CopyTo(buffer);
            RandomAccess.Write(h, buffer, at);
        }
        RandomAccess.FlushToDisk(h);
    }

    private static void WriteAll(string file, byte* source, long length)
    {
        using var h = File.OpenHandle(file, FileMode.Create, FileAccess.Write);
        for (long at = 0; at < length; at += RawCall)
            RandomAccess.Write(h, new ReadOnlySpan<byte>(source + at, (int)Math.Min(RawCall, length - at)), at);
    }

    /// <summary>Native memory the process has written every page of (random bytes when <paramref name="fill"/>), before any clock.</summary>
    private static byte* Touched(long length, bool fill)
    {
        var p = (byte*)NativeMemory.AlignedAlloc((nuint)length, 4096);
        var span = new Span<byte>(p, (int)Math.Min(length, int.MaxValue));
        if (fill) Random.Shared.NextBytes(span);
        for (long i = 0; i < length; i += 4096) p[i] = (byte)i;
        return p;
    }

    /// <summary>Keeps a checksum from being optimized away.</summary>
    private static void Check(ulong sum)
    {
        if (sum == 0x0123456789abcdef) throw new InvalidOperationException("an unlikely checksum");
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return Math.Round(sorted[sorted.Count / 2], 4);
    }

    private static string Value(string[] args, string name, string fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }
}
