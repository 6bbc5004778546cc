using System.IO.Hashing;
using System.Text;

namespace ActorCkpt;

/// <summary>
/// Where an object-store root keeps its local state by default: one directory per root URI,
/// <c>$XDG_DATA_HOME/actorckpt/roots/&lt;scheme&gt;-&lt;container&gt;-&lt;hash&gt;</c> (or
/// <c>~/.local/share/…</c>), the hash of the canonical URI keeping roots that share a container apart.
/// </summary>
internal static class ObjectRootState
{
    /// <summary>The default local state directory of <paramref name="root"/>.</summary>
    public static string DefaultDirectory(ObjectRoot root)
    {
        var data = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify);
        if (string.IsNullOrEmpty(data))
            throw new ActorCkptException($"'{root}': no user data directory to keep the root's catalog in (HOME is not set); name one (actorckpt.object-store.state-directory)");
        return Path.Combine(data, "actorckpt", "roots", Name(root));
    }

    /// <summary>The directory's name: readable, and unique per canonical URI.</summary>
    public static string Name(ObjectRoot root)
    {
        var uri = root.ToString();
        var hash = XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(uri));
        return $"{(root.Service == ObjectService.Azure ? "az" : "s3")}-{root.Container}-{hash:x16}";
    }
}
