using System.Diagnostics;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace ActorCkpt.Readme.Tests;

/// <summary>
/// The packages a README block is built against: the repository's <c>artifacts/</c> folder (the
/// ActorCkpt packages just packed) and the machine's own NuGet sources (TorchSharp and the rest).
/// </summary>
/// <remarks>
/// A package re-packed under the same version would be taken from the global packages folder,
/// stale, since NuGet never extracts an id and version twice. So each run restores into a packages
/// folder of its own and uses the global one only as a fallback folder, seen through symbolic links
/// to every package in it except ActorCkpt's: those alone are extracted afresh from artifacts/,
/// while libtorch (hundreds of MB) is used where it lies, neither copied nor touched.
/// </remarks>
internal sealed class PackageFeed
{
    /// <summary>The one line a run without packed packages fails with.</summary>
    public const string PackFirst = "run `dotnet pack ActorCkpt.sln -c Release -o artifacts` first (.ci/run does)";

    private static readonly string[] OurIds = ["actorckpt", "actorckpt.planner", "actorckpt.io", "actorckpt.actors", "actorckpt.tool"];

    private PackageFeed(string repoRoot, string artifacts, string version, IReadOnlyList<string> sources)
    {
        RepoRoot = repoRoot;
        Artifacts = artifacts;
        ActorCkptVersion = version;
        Sources = sources;
    }

    /// <summary>The repository's root (where ActorCkpt.sln is).</summary>
    public string RepoRoot { get; }

    /// <summary>The folder of packed packages.</summary>
    public string Artifacts { get; }

    /// <summary>The version of the ActorCkpt package in <see cref="Artifacts"/>.</summary>
    public string ActorCkptVersion { get; }

    /// <summary>The machine's enabled NuGet sources.</summary>
    public IReadOnlyList<string> Sources { get; }

    /// <summary>The repository this test runs from, its packed ActorCkpt and the machine's sources; fails with <see cref="PackFirst"/> when nothing is packed.</summary>
    public static PackageFeed Find()
    {
        var root = FindRepoRoot();
        var artifacts = Path.Combine(root, "artifacts");
        var version = FindVersion(root, artifacts) ?? throw new InvalidOperationException(PackFirst);
        return new PackageFeed(root, artifacts, version, MachineSources(root));
    }

    /// <summary>Writes <c>nuget.config</c> into <paramref name="work"/>: the sources (artifacts first), a packages folder and a fallback folder of its own.</summary>
    public void WriteNuGetConfig(string work)
    {
        var packages = Path.Combine(work, "packages");
        var fallback = Path.Combine(work, "fallback");
        Directory.CreateDirectory(packages);
        LinkGlobalPackagesExceptOurs(fallback);
        var sources = new XElement("packageSources", new XElement("clear"),
            new XElement("add", new XAttribute("key", "artifacts"), new XAttribute("value", Artifacts)));
        for (var i = 0; i < Sources.Count; i++)
            sources.Add(new XElement("add", new XAttribute("key", $"source{i}"), new XAttribute("value", Sources[i])));
        new XDocument(new XElement("configuration",
            new XElement("config", new XElement("add", new XAttribute("key", "globalPackagesFolder"), new XAttribute("value", packages))),
            new XElement("fallbackPackageFolders", new XElement("clear"), new XElement("add", new XAttribute("key", "global"), new XAttribute("value", fallback))),
            sources)).Save(Path.Combine(work, "nuget.config"));
    }

    private static void LinkGlobalPackagesExceptOurs(string fallback)
    {
        Directory.CreateDirectory(fallback);
        var global = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } set
            ? set
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        if (!Directory.Exists(global)) return;
        foreach (var package in Directory.EnumerateDirectories(global))
        {
            var id = Path.GetFileName(package);
            if (OurIds.Contains(id, StringComparer.OrdinalIgnoreCase)) continue;
            Directory.CreateSymbolicLink(Path.Combine(fallback, id), package);
        }
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "ActorCkpt.sln")))
                return dir.FullName;
        throw new InvalidOperationException($"no ActorCkpt.sln above {AppContext.BaseDirectory}: run the test from the repository");
    }

    /// <summary>The version set in Directory.Build.props when its package is there, else the newest ActorCkpt.*.nupkg's; null when there is none.</summary>
    private static string? FindVersion(string root, string artifacts)
    {
        if (!Directory.Exists(artifacts)) return null;
        var packed = Directory.EnumerateFiles(artifacts, "*.nupkg")
            .Select(path => (path, match: Regex.Match(Path.GetFileName(path), @"^ActorCkpt\.(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?)\.nupkg$", RegexOptions.IgnoreCase)))
            .Where(p => p.match.Success)
            .OrderByDescending(p => File.GetLastWriteTimeUtc(p.path))
            .Select(p => p.match.Groups[1].Value)
            .ToList();
        var props = Path.Combine(root, "Directory.Build.props");
        var declared = File.Exists(props)
            ? XDocument.Load(props).Descendants("Version").Select(v => v.Value.Trim()).FirstOrDefault()
            : null;
        return declared is not null && packed.Contains(declared, StringComparer.OrdinalIgnoreCase) ? declared : packed.FirstOrDefault();
    }

    /// <summary>The enabled sources of <c>dotnet nuget list source</c> run outside any project.</summary>
    private static IReadOnlyList<string> MachineSources(string root)
    {
        var outside = Directory.CreateTempSubdirectory("actorckpt-readme-sources-");
        try
        {
            var result = Dotnet.Run(outside.FullName, TimeSpan.FromMinutes(2), "nuget", "list", "source", "--format", "short");
            if (result.ExitCode != 0) throw new InvalidOperationException("dotnet nuget list source failed:\n" + result.Output);
            var sources = result.Output.Split('\n')
                .Select(line => line.Trim())
                .Where(line => line.StartsWith("E ", StringComparison.Ordinal))
                .Select(line => line[2..].Trim())
                .ToList();
            return sources.Count > 0 ? sources : throw new InvalidOperationException("dotnet nuget list source lists no enabled source: TorchSharp-cpu cannot be restored");
        }
        finally
        {
            outside.Delete(recursive: true);
        }
    }
}
