
namespace ActorCkpt;

/// <summary>Options of <see cref="HuggingFaceImport.LoadBaseModel(string, ActorCkpt.RankState, BaseModelOptions?)"/>.</summary>
/// <param name="KeyMapping">Renames the file's keys to the state's (transformers' key_mapping); none when null.</param>
/// <param name="Strict">What to do about keys that do not match, as for ordinary loads.</param>
/// <param name="ConvertDTypes">
/// False (the default): a tensor whose dtype in the files differs from the state's fails the load,
/// naming it. True: the file's values are converted to the state's dtype.
/// </param>
/// <param name="Parallelism">Byte ranges read at once.</param>
public sealed record BaseModelOptions(
    KeyMapping? KeyMapping = null,
    StrictHandling Strict = StrictHandling.AssumeOkUnexpected,
    bool ConvertDTypes = false,
    int Parallelism = 4);
