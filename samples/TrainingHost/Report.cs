using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using ActorCkpt;
using TorchSharp;

namespace TrainingHost;

/// <summary>
/// The lines a rank prints for run-sample.sh (or a test) to compare, one fact per line, the first
/// word naming it, to <paramref name="output"/> (standard output in the program). Floats are
/// printed as the hex of their bits (bit-exact comparisons), then as text for people.
/// </summary>
internal sealed class Report(TextWriter output)
{
    public void Line(string text)
    {
        // Commit lines come from other threads than the training loop's.
        lock (output) output.WriteLine(text);
    }

    public static string Bits(float value) => BitConverter.SingleToUInt32Bits(value).ToString("x8", CultureInfo.InvariantCulture);

    public static string Text(float value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>SHA-256 of a module's parameters and buffers, by name in ordinal order.</summary>
    public static string Hash(torch.nn.Module module)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (name, tensor) in module.state_dict().OrderBy(p => p.Key, StringComparer.Ordinal))
            Append(sha, name, tensor);
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>
    /// What <paramref name="parts"/> put into a checkpoint of <paramref name="step"/> as this rank sees them:
    /// one hash of every replicated tensor and global entry (the same on every rank, whatever the
    /// layout), and each sharded tensor's rows (<paramref name="isSharded"/> says which keys) in full
    /// with their place in the whole tensor, so that the script can put the whole tensor together
    /// from any number of ranks.
    /// </summary>
    public void State(string what, long step, int rank, int world, IEnumerable<IStateful> parts, Func<string, bool> isSharded)
    {
        var state = new RankState(rank, world);
        foreach (var part in parts) part.Save(state);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var entry in state.Tensors.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            // By key, not by box: on one rank a sharded tensor's only slice is the whole tensor.
            if (!isSharded(entry.Key))
            {
                Append(sha, entry.Key, entry.Tensor);
                continue;
            }
            Line($"{what}-shard {step} {entry.Key} {entry.Box.Offsets[0]} {entry.Box.Lengths[0]} {Convert.ToHexStringLower(Bytes(entry.Tensor))}");
        }
        foreach (var entry in state.Objects.Where(o => o.Scope == ObjectScope.Global).OrderBy(o => o.Key, StringComparer.Ordinal))
        {
            sha.AppendData(Encoding.UTF8.GetBytes(entry.Key));
            sha.AppendData(entry.Bytes);
        }
        Line($"{what}-replicated {step} {Convert.ToHexStringLower(sha.GetHashAndReset())}");
    }

    private static void Append(IncrementalHash sha, string name, torch.Tensor tensor)
    {
        sha.AppendData(Encoding.UTF8.GetBytes(name));
        sha.AppendData(Bytes(tensor));
    }

    private static byte[] Bytes(torch.Tensor tensor)
    {
        using var c = tensor.detach().cpu().contiguous();
        return c.bytes.ToArray();
    }
}
