namespace ActorCkpt;

/// <summary>How an optimizer's per-parameter state is keyed in a checkpoint.</summary>
public enum OptimizerKeys
{
    /// <summary>
    /// By the parameter's name in the module (<c>optim.state.fc1.weight.exp_avg</c>), options stored
    /// per parameter: the flattened form, which survives a change of parameter grouping or order.
    /// </summary>
    ByName,

    /// <summary>By the parameter's position across the groups (<c>optim.state.0.exp_avg</c>), as PyTorch's own <c>state_dict()</c>: the groups must match on load.</summary>
    ByIndex,
}
