using ActorCkpt.SharedTests;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using TorchSharp;

namespace ActorCkpt.Hosting.Tests;

/// <summary>A started host (writes through <see cref="GatedWrites"/>) stopped while its save of step 1 is held in a write.</summary>
internal static class SaveCutOff
{
    /// <summary>What the caller of such a save hears when the host's FinishSavesTimeout is 0.3 s.</summary>
    public const string Message = "save of step 1 failed: the host shut down, and its wait for saves in flight (ActorCkptOptions.FinishSavesTimeout, " +
                                  "the before-service-unbind phase's timeout: 0.3s) ran out before this save ended; it was cut off before its verdict (the catalog tells whether it committed)";

    /// <summary>
    /// Starts a save of step 1 on <paramref name="host"/>, stops the host once its write is held (with
    /// <paramref name="stop"/> as the stop's token when given), then lets the write go; the save's failure.
    /// </summary>
    public static async Task<CheckpointFailedException> StopDuringSaveAsync(IHost host, WriteGate gate, CancellationToken ct, CancellationToken? stop = null)
    {
        var ckpt = host.Services.GetRequiredService<ICheckpointer>();
        using var w = torch.ones(4);
        var handle = await ckpt.StartSaveAsync(1, new RankState(0, 1).AddReplicated("w", w), ct);
        await gate.Entered.WaitAsync(TimeSpan.FromSeconds(30), ct);

        // Bounded: a stop that waits for the held write would hang here, not pass.
        await host.StopAsync(stop ?? ct).WaitAsync(TimeSpan.FromMinutes(2), ct);
        gate.Open();

        return await Assert.ThrowsAsync<CheckpointFailedException>(() => handle.Committed.WaitAsync(TimeSpan.FromSeconds(30), ct));
    }
}
