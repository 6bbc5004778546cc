namespace ActorCkpt;

/// <summary>What a write item carries.</summary>
internal enum WriteItemKind
{
    /// <summary>A chunk of a tensor.</summary>
    Tensor,
    /// <summary>The bytes of a non-tensor entry.</summary>
    Object,
}
