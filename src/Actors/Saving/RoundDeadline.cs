namespace ActorCkpt;

/// <summary>Which deadline of a save round is running: the local plans', or the write reports'.</summary>
internal enum RoundDeadline
{
    /// <summary>Every rank's local plan (and a writer) are due.</summary>
    Plans,

    /// <summary>Every rank's write report is due.</summary>
    Writes,
}
