namespace ActorCkpt;

/// <summary>How an exception reads in an abort reason or a log line.</summary>
internal static class ErrorText
{
    /// <summary>Ours and I/O errors speak for themselves; anything else is named by its type too.</summary>
    public static string Of(Exception e) => e is ActorCkptException or IOException ? e.Message : $"{e.GetType().Name}: {e.Message}";
}
