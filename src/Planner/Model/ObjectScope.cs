namespace ActorCkpt;

/// <summary>Whether a non-tensor entry is one value for the whole job or one value per rank.</summary>
public enum ObjectScope
{
    /// <summary>One value for the job (iteration, scheduler): written once, from the lowest rank that has it.</summary>
    Global,
    /// <summary>One value per rank (RNG state, data loader position): each rank's is written and loaded back to the same rank.</summary>
    Rank,
}
