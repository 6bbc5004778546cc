namespace ActorCkpt;

/// <summary>
/// The object tier (<c>actorckpt.tiers.object</c>): committed steps copied in the background to a
/// second root, an object store (or another directory), every <see cref="Every"/> steps.
/// </summary>
/// <param name="Root">The tier's root (<c>az://</c>, <c>s3://</c> or a directory); empty: no object tier.</param>
/// <param name="Every">Steps whose number is a multiple of this are uploaded; at least 1.</param>
/// <param name="UploadTimeout">An upload not done by then is abandoned.</param>
/// <param name="KeepLast">The newest uploaded steps the tier keeps; 0 keeps every one.</param>
/// <param name="KeepEvery">With <paramref name="KeepLast"/>: uploaded steps that are multiples of this stay in the tier too; 0: none does.</param>
internal sealed record ObjectTierSettings(string Root, long Every, TimeSpan UploadTimeout, int KeepLast = 0, long KeepEvery = 0)
{
    /// <summary>The tier's retention: which uploaded steps leave it (none when <see cref="KeepLast"/> is 0).</summary>
    public RetentionPolicy Retention => new(KeepLast, KeepEvery);

    /// <summary>No object tier.</summary>
    public static ObjectTierSettings Off { get; } = new("", 1, TimeSpan.FromHours(1));

    /// <summary>True when a root is configured.</summary>
    public bool Enabled => Root.Length > 0;

    /// <summary>True when committed step <paramref name="step"/> is to be uploaded.</summary>
    public bool Due(long step) => Enabled && step % Every == 0;
}
