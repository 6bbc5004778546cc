namespace ActorCkpt;

/// <summary>Where a save round stands.</summary>
internal enum RoundPhase
{
    /// <summary>Local plans are coming in.</summary>
    Gathering,

    /// <summary>The global plan is made; its start is being journaled.</summary>
    Starting,

    /// <summary>Ranks were sent their files; their write reports are coming in.</summary>
    Writing,

    /// <summary>Every rank wrote its files; the metadata is being committed.</summary>
    Committing,
}
