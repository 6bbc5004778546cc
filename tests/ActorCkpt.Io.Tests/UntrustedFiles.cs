using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace ActorCkpt.Io.Tests;

/// <summary>Puts things that are not regular files where a checkpoint root's files go, and bounds each operation in time.</summary>
internal static class UntrustedFiles
{
    /// <summary>How long an operation on a hostile file may take before the test fails as hung.</summary>
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    /// <summary>Replaces <paramref name="path"/> (when it exists) with a FIFO nobody writes: opening it to read would wait forever.</summary>
    public static void MakeFifo(string path)
    {
        File.Delete(path);
        if (mkfifo(path, 0b110_100_100) != 0) throw new IOException($"mkfifo '{path}' failed (errno {Marshal.GetLastPInvokeError()})");
    }

    /// <summary>Replaces <paramref name="path"/> (when it exists) with a bound Unix domain socket; dispose the result to close it.</summary>
    public static Socket MakeSocket(string path)
    {
        File.Delete(path);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        return socket;
    }

    /// <summary>Makes <paramref name="path"/> a sparse file of <paramref name="length"/> bytes: no data is written.</summary>
    public static void MakeSparse(string path, long length)
    {
        File.Delete(path); // opening a FIFO there to write would wait for a reader
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write);
        file.SetLength(length);
    }

    /// <summary>Runs <paramref name="operation"/> on the thread pool and waits for it at most <see cref="Deadline"/>: a hang fails the test.</summary>
    public static Task<T> Bounded<T>(Func<T> operation) => Task.Run(operation).WaitAsync(Deadline);

    /// <summary>The exception <paramref name="operation"/> throws within <see cref="Deadline"/>, which must be a <typeparamref name="TException"/>.</summary>
    public static async Task<TException> Refused<TException>(Action operation) where TException : Exception =>
        await Assert.ThrowsAsync<TException>(() => Task.Run(operation).WaitAsync(Deadline));

    [DllImport("libc", SetLastError = true)]
    private static extern int mkfifo([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode);
}
