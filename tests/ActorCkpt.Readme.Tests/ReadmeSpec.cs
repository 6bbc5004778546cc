using System.Text.RegularExpressions;

namespace ActorCkpt.Readme.Tests;

/// <summary>
/// The README cannot drift from the API: every C# block of it is compiled against the packed
/// packages (artifacts/), in a new console project that references only ActorCkpt and
/// TorchSharp-cpu, and the first one, a complete program, runs.
/// </summary>
public sealed class ReadmeSpec(ReadmeFixture fixture) : IClassFixture<ReadmeFixture>
{
    /// <summary>The projects the README's C# blocks make, but the first block's.</summary>
    public static TheoryData<string> OtherProjects()
    {
        var data = new TheoryData<string>();
        foreach (var project in ReadmeFixture.Blocks.Where(b => !b.Fragment).Select(b => b.Project).Distinct().Where(p => p != ReadmeBlock.FirstProject))
            data.Add(project);
        return data;
    }

    [Fact]
    public void The_first_csharp_block_is_a_program_that_builds_and_runs_against_the_packages()
    {
        var first = ReadmeFixture.Blocks.FirstOrDefault() ?? throw new Xunit.Sdk.XunitException("README.md has no ```csharp block");
        var project = new ConsoleProject(fixture.Work, "Readme_first", fixture.Feed).Write(new Dictionary<string, string> { ["Program.cs"] = first.Code });

        var build = project.Build();
        Assert.True(build.ExitCode == 0, $"README.md line {first.Line}: the first C# block, as Program.cs, does not build:\n{build.Tail()}");
        var run = project.Run(project.Directory);
        Assert.True(run.ExitCode == 0, $"README.md line {first.Line}: the first C# block builds but exits with {run.ExitCode}:\n{run.Tail()}");
    }

    [Theory]
    [MemberData(nameof(OtherProjects))]
    public void Every_other_csharp_block_builds_against_the_packages(string name)
    {
        var blocks = ReadmeFixture.Blocks.Where(b => b.Project == name && !b.Fragment).ToList();
        var files = blocks.ToDictionary(b => b.FileName, b => b.Code);
        if (!files.ContainsKey("Program.cs")) files["Program.cs"] = "return 0;\n";
        var project = new ConsoleProject(fixture.Work, "Readme_" + name, fixture.Feed).Write(files);

        var build = project.Build();
        var where = string.Join(", ", blocks.Select(b => $"block {b.Index} (line {b.Line}) as {b.FileName}"));
        Assert.True(build.ExitCode == 0, $"README.md: {where} do(es) not build:\n{build.Tail()}");
    }

    [Fact]
    public void The_native_library_fix_should_leave_the_package_cache_as_the_package_has_it_even_with_hard_linked_outputs()
    {
        var project = new ConsoleProject(fixture.Work, "HardLinked", fixture.Feed).Write(new Dictionary<string, string> { ["Program.cs"] = "return 0;\n" });

        var build = project.Build("-p:CreateHardLinksForCopyLocalIfPossible=true");

        Assert.True(build.ExitCode == 0, $"a console project built with hard-linked outputs does not build:\n{build.Tail()}");
        const string native = "runtimes/linux-x64/native/libLibTorchSharp.so";
        Assert.True(File.Exists(Path.Combine(project.Directory, "bin", "Release", "net10.0", native)), "the build output has no " + native);
        // Before, the fix wrote through the output's hard link into the cache: every later build took the changed library from there.
        // Restored into the run's packages folder, or used where it lies through the fallback folder (the machine's own cache).
        var package = new[] { "packages", "fallback" }.Select(folder => Path.Combine(fixture.Work, folder, "torchsharp", ConsoleProject.TorchSharpCpuVersion)).First(Directory.Exists);
        using var nupkg = System.IO.Compression.ZipFile.OpenRead(Path.Combine(package, $"torchsharp.{ConsoleProject.TorchSharpCpuVersion}.nupkg"));
        using var packed = new MemoryStream();
        using (var entry = nupkg.GetEntry(native)!.Open()) entry.CopyTo(packed);
        Assert.True(packed.ToArray().AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(package, native))), $"the package cache's {native} differs from the package's");
    }

    [Fact]
    public void Every_relative_link_of_the_README_names_a_file_of_the_repository()
    {
        var readme = ReadmeFixture.ReadmePath;
        var root = Path.GetDirectoryName(readme)!;
        var broken = Regex.Matches(File.ReadAllText(readme), @"\]\(([^)#\s]+)(#[^)]*)?\)")
            .Select(m => m.Groups[1].Value)
            .Where(target => !target.Contains("://", StringComparison.Ordinal) && !target.StartsWith("mailto:", StringComparison.Ordinal))
            .Where(target => !Path.Exists(Path.Combine(root, target)))
            .Distinct()
            .ToList();
        Assert.True(broken.Count == 0, "README.md links to files that do not exist: " + string.Join(", ", broken));
    }
}
