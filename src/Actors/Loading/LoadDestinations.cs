using TorchSharp;

namespace ActorCkpt;

/// <summary>
/// The memory a load reads into: each target tensor itself when it is a contiguous CPU tensor of
/// the dtype read, otherwise a contiguous CPU staging tensor of that dtype, copied (and converted)
/// into the target by <see cref="CopyToTargets"/> once every read is done.
/// </summary>
internal sealed class LoadDestinations : IDisposable
{
    private readonly IReadOnlyList<TensorEntry> _targets;
    private readonly torch.Tensor?[] _staging;

    /// <summary>Destinations for <paramref name="targets"/>, read as <paramref name="readAs"/> (each target's own dtype when null).</summary>
    public LoadDestinations(IReadOnlyList<TensorEntry> targets, IReadOnlyList<DType>? readAs = null)
    {
        // Refused before anything is read or filled: copy_ would throw only after every read, with the contiguous targets already overwritten.
        foreach (var t in targets)
            if (OverlapsItself(t.Tensor) is { } dim)
                throw new ActorCkptException($"'{t.Key}' cannot be loaded into its tensor: its elements overlap in memory (dim {dim} of size {t.Tensor.shape[dim]} has stride 0, " +
                                             "as an expanded view has); load into a tensor of its own (clone() it)");
        _targets = targets;
        _staging = targets.Select((t, i) =>
        {
            var dtype = readAs?[i] ?? t.DType;
            return TensorBytes.IsDirect(t.Tensor) && dtype == t.DType ? null : torch.empty(t.Tensor.shape, TorchDTypes.ToScalarType(dtype), torch.CPU);
        }).ToArray();
    }

    /// <summary>
    /// Bytes <paramref name="offset"/> to <paramref name="offset"/> + <paramref name="length"/> of the
    /// row-major memory that target <paramref name="target"/>'s reads fill (a <see cref="DestinationProvider"/>;
    /// tensors over 2 GiB are filled a window at a time).
    /// </summary>
    public Span<byte> Bytes(int target, long offset, int length) => TensorBytes.Window(_staging[target] ?? _targets[target].Tensor, offset, length);

    /// <summary>Copies the staged targets into their tensors.</summary>
    public void CopyToTargets()
    {
        // Targets may be parameters, which autograd forbids writing to outside no_grad.
        using var _ = torch.no_grad();
        for (var i = 0; i < _staging.Length; i++)
            if (_staging[i] is { } s) _targets[i].Tensor.copy_(s);
    }

    /// <summary>A dim of more than one element with stride 0 (an expanded view: several elements at one address), or null.</summary>
    private static int? OverlapsItself(torch.Tensor tensor)
    {
        var strides = tensor.stride();
        for (var d = 0; d < strides.Length; d++)
            if (strides[d] == 0 && tensor.shape[d] > 1) return d;
        return null;
    }

    /// <summary>Frees the staging tensors.</summary>
    public void Dispose()
    {
        foreach (var s in _staging) s?.Dispose();
    }
}
