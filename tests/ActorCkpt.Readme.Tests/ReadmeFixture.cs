namespace ActorCkpt.Readme.Tests;

/// <summary>
/// One working directory for the whole class: nuget.config, the packages folder and the fallback
/// links are made once, so packages restored for one block serve the next.
/// </summary>
public sealed class ReadmeFixture : IDisposable
{
    private readonly Lazy<PackageFeed> _feed = new(PackageFeed.Find);
    private readonly Lazy<string> _work;

    /// <summary>Creates the fixture; nothing is written until a test asks for <see cref="Work"/>.</summary>
    public ReadmeFixture()
    {
        _work = new Lazy<string>(() =>
        {
            var work = System.IO.Directory.CreateTempSubdirectory("actorckpt-readme-").FullName;
            Feed.WriteNuGetConfig(work);
            return work;
        });
    }

    internal PackageFeed Feed => _feed.Value;

    internal string Work => _work.Value;

    /// <summary>The README's C# blocks.</summary>
    internal static IReadOnlyList<ReadmeBlock> Blocks => ReadmeBlock.Parse(File.ReadAllText(ReadmePath));

    internal static string ReadmePath
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "ActorCkpt.sln")))
                    return Path.Combine(dir.FullName, "README.md");
            throw new InvalidOperationException($"no ActorCkpt.sln above {AppContext.BaseDirectory}");
        }
    }

    /// <summary>Removes the working directory (the symbolic links only, never what they point to).</summary>
    public void Dispose()
    {
        if (!_work.IsValueCreated) return;
        var fallback = new DirectoryInfo(Path.Combine(_work.Value, "fallback"));
        if (fallback.Exists)
            foreach (var link in fallback.EnumerateFileSystemInfos())
                link.Delete();
        System.IO.Directory.Delete(_work.Value, recursive: true);
    }
}
