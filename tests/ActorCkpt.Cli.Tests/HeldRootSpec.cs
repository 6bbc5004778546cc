using System.Collections.Concurrent;
using System.Diagnostics;

namespace ActorCkpt.Cli.Tests;

/// <summary>
/// A checkpoint root held by another process (an <c>actorckpt node</c> whose planner owns the
/// catalog): a checkpointer started here fails at once (not after the plan timeout) naming the lock and its holder, and
/// <c>gc</c> says the same; <c>demo --check</c> loads it read-only; once the holder is gone the root is free again.
/// </summary>
public sealed class HeldRootSpec : IDisposable
{
    private readonly TempDirectory _temp = new();

    private string Dir => _temp.Path;

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_checkpointer_on_a_root_another_process_holds_should_fail_at_once_naming_the_lock_and_its_holder()
    {
        Directory.CreateDirectory(Dir);
        Assert.Equal(0, ActorCkptCli.Run(new[] { "demo", "--dir", Dir, "--size-mb", "1", "--tensors", "4" }, new StringWriter(), new StringWriter()));
        var config = Path.Combine(Dir, "node.conf");
        await File.WriteAllTextAsync(config, $"actorckpt.root = \"{Dir}\"\n");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { typeof(ActorCkptCli).Assembly.Location, "node", "--config", config, "--port", "0", "--roles", "writer,planner" })
            psi.ArgumentList.Add(a);
        using var holder = Process.Start(psi)!;
        var lines = new ConcurrentQueue<string>();
        holder.OutputDataReceived += (_, e) => { if (e.Data is not null) lines.Enqueue(e.Data); };
        holder.ErrorDataReceived += (_, e) => { if (e.Data is not null) lines.Enqueue(e.Data); };
        holder.BeginOutputReadLine();
        holder.BeginErrorReadLine();
        try
        {
            // The node's planner singleton records itself beside the lock once it has taken it.
            var holderFile = Path.Combine(Dir, CheckpointLayout.LockHolderFile(CheckpointLayout.CatalogLockFile));
            await WhenExistsAsync(holderFile, TimeSpan.FromSeconds(60), () => string.Join("\n", lines));

            // With an hour's plan timeout: a start that waited it out instead of hearing the refusal would not end within the test's patience.
            var e = await Assert.ThrowsAsync<RootLockedException>(() => Checkpointer.StartAsync(
                new CheckpointerOptions { Root = Dir, Hocon = "actorckpt.planner.plan-timeout = 1h" }).WaitAsync(TimeSpan.FromMinutes(2)));

            var lockFile = Path.Combine(Path.GetFullPath(Dir), CheckpointLayout.CatalogLockFile);
            Assert.StartsWith($"the checkpoint root '{Path.GetFullPath(Dir)}' is held by another checkpointer: '{lockFile}' is locked by pid {holder.Id} on host {Environment.MachineName} (", e.Message);
            Assert.Contains("node --config", e.Message);
            Assert.EndsWith("; stop it, or open the root read-only with CheckpointReader.Open", e.Message);
            Assert.Equal(holder.Id, e.HolderProcessId);
            Assert.Equal(lockFile, e.LockFile);

            var stderr = new StringWriter();
            Assert.Equal(1, ActorCkptCli.Run(new[] { "gc", Dir }, new StringWriter(), stderr));
            Assert.Contains($"'{lockFile}' is locked by pid {holder.Id} on host", stderr.ToString());

            // A demo across node processes too, before it starts any: before, its driver waited two
            // minutes for writers and said "the planner did not find 2 writers".
            var nodes = new StringWriter();
            Assert.Equal(1, ActorCkptCli.Run(new[] { "demo", "--dir", Dir, "--nodes", "2", "--size-mb", "1", "--tensors", "4" }, new StringWriter(), nodes));
            Assert.StartsWith($"actorckpt: the checkpoint root '{Path.GetFullPath(Dir)}' is held by another checkpointer: '{lockFile}' is locked by pid {holder.Id} on host", nodes.ToString());
            Assert.Single(nodes.ToString().TrimEnd().Split('\n'));

            // Loading needs no lock: demo --check reads the held root read-only, bit-exact.
            var check = new StringWriter();
            Assert.Equal(0, ActorCkptCli.Run(new[] { "demo", "--dir", Dir, "--check", "--size-mb", "1", "--tensors", "4" }, check, new StringWriter()));
            var said = check.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.StartsWith($"'{lockFile}' is locked by pid {holder.Id} on host {Environment.MachineName} (", said[0]);
            Assert.EndsWith("): loading read-only, without the lock", said[0]);
            Assert.Single(said, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^loaded step 1 \(saved on 4 ranks\) on 3 ranks in [0-9.]+ s: bit-exact$"));
            Assert.Contains("bit_exact: true", said);
        }
        finally
        {
            if (!holder.HasExited)
                using (var kill = Process.Start("kill", new[] { "-TERM", holder.Id.ToString() })!) await kill.WaitForExitAsync();
            await holder.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }

        // The holder is gone: so are its record and its lock.
        Assert.False(File.Exists(Path.Combine(Dir, CheckpointLayout.LockHolderFile(CheckpointLayout.CatalogLockFile))));
        await using var ckpt = Checkpointer.Start(Dir);
        Assert.Equal(new long[] { 1 }, (await ckpt.ReadCatalogAsync()).Select(e => e.Step));
    }

    /// <summary>Completes once <paramref name="path"/> exists; fails after <paramref name="patience"/> with <paramref name="context"/>.</summary>
    private static async Task WhenExistsAsync(string path, TimeSpan patience, Func<string> context)
    {
        using var watcher = new FileSystemWatcher(Path.GetDirectoryName(path)!, Path.GetFileName(path)) { EnableRaisingEvents = true };
        var appeared = new TaskCompletionSource();
        watcher.Created += (_, _) => appeared.TrySetResult();
        watcher.Renamed += (_, _) => appeared.TrySetResult();
        if (File.Exists(path)) return;
        try
        {
            await appeared.Task.WaitAsync(patience);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"'{path}' did not appear within {patience}; the node said:\n{context()}");
        }
    }
}
