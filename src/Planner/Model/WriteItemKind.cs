namespace ActorCkpt.Planner;

/// <summary>What a write item carries.</summary>
public enum WriteItemKind
{
    /// <summary>A chunk of a tensor.</summary>
    Tensor,
    /// <summary>The bytes of a non-tensor entry.</summary>
    Object,
}
