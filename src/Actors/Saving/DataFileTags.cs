using System.Globalization;

namespace ActorCkpt;

/// <summary>
/// The metadata every data file carries in its safetensors header. A disk copy made from a memory
/// replica must carry exactly the same, or its header checksum would not match the one recorded.
/// </summary>
internal static class DataFileTags
{
    /// <summary>The header metadata of <paramref name="plan"/>'s file in step <paramref name="step"/>.</summary>
    public static Dictionary<string, string> Of(long step, FileWritePlan plan) => new()
    {
        ["format"] = "pt",
        ["actorckpt.step"] = step.ToString(CultureInfo.InvariantCulture),
        ["actorckpt.rank"] = plan.Rank.ToString(CultureInfo.InvariantCulture),
    };
}
