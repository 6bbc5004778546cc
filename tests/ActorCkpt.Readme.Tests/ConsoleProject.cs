using System.Xml.Linq;

namespace ActorCkpt.Readme.Tests;

/// <summary>
/// A new console project, as <c>dotnet new console</c> makes it (net10.0, implicit usings, nullable),
/// that references only the ActorCkpt and TorchSharp-cpu packages; written into a directory of
/// <paramref name="Work"/> beside the run's nuget.config, so nothing of the repository's build applies.
/// </summary>
internal sealed record ConsoleProject(string Work, string Name, PackageFeed Feed)
{
    /// <summary>The TorchSharp native backend the README's install table names for CPU.</summary>
    public const string TorchSharpCpuVersion = "0.107.0";

    private static readonly TimeSpan BuildLimit = TimeSpan.FromMinutes(15);

    /// <summary>The project's directory.</summary>
    public string Directory => Path.Combine(Work, Name);

    /// <summary>Writes the project with <paramref name="files"/> (name to contents) as its sources.</summary>
    public ConsoleProject Write(IReadOnlyDictionary<string, string> files)
    {
        System.IO.Directory.CreateDirectory(Directory);
        new XDocument(new XElement("Project", new XAttribute("Sdk", "Microsoft.NET.Sdk"),
            new XElement("PropertyGroup",
                new XElement("OutputType", "Exe"),
                new XElement("TargetFramework", "net10.0"),
                new XElement("ImplicitUsings", "enable"),
                new XElement("Nullable", "enable"),
                // Restore asks no vulnerability database: the build must not depend on the network beyond the feeds.
                new XElement("NuGetAudit", "false")),
            new XElement("ItemGroup",
                new XElement("PackageReference", new XAttribute("Include", "ActorCkpt"), new XAttribute("Version", Feed.ActorCkptVersion)),
                new XElement("PackageReference", new XAttribute("Include", "TorchSharp-cpu"), new XAttribute("Version", TorchSharpCpuVersion)))))
            .Save(Path.Combine(Directory, Name + ".csproj"));
        foreach (var (file, text) in files) File.WriteAllText(Path.Combine(Directory, file), text);
        return this;
    }

    /// <summary>Restores and builds in Release, with <paramref name="more"/> arguments (MSBuild properties).</summary>
    public Dotnet.Result Build(params string[] more) =>
        Dotnet.Run(Directory, BuildLimit, ["build", "-c", "Release", "-nodeReuse:false", "--disable-build-servers", .. more]);

    /// <summary>Runs the built program in <paramref name="workingDirectory"/>.</summary>
    public Dotnet.Result Run(string workingDirectory) =>
        Dotnet.Run(workingDirectory, BuildLimit, Path.Combine(Directory, "bin", "Release", "net10.0", Name + ".dll"));
}
