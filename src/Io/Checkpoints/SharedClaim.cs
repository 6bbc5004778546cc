namespace ActorCkpt;

/// <summary>What a rank does with one read of its plan when it shares reads (<see cref="SharedReadSession.Claim"/>).</summary>
/// <param name="Action">What to do.</param>
/// <param name="Range">The shared range it concerns; null for a read the rank does for itself alone.</param>
internal readonly record struct SharedClaim(SharedClaim.Kind Action, SharedRange? Range)
{
    /// <summary>The actions.</summary>
    public enum Kind
    {
        /// <summary>Read it (then publish it to <see cref="Range"/> when there is one, or report the failure there).</summary>
        Read,

        /// <summary>Copy it from <see cref="Range"/>'s owner, then unpin it.</summary>
        Copy,

        /// <summary>Another rank is reading it: come back once <see cref="SharedRange.Settled"/>.</summary>
        Wait,

        /// <summary>Its bytes are corrupt: fail with <see cref="SharedRange.Mismatch"/>.</summary>
        Corrupt,
    }
}
