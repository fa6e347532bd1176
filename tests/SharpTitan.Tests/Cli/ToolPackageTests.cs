using SharpTitan.Tests.Distributed;

namespace SharpTitan.Tests.Cli;

/// <summary>
/// Packaging (README, "Installing sharptitan"): packs both NuGet packages from this build, installs the
/// `sharptitan` .NET tool from them into a temporary --tool-path with no other package source, and runs the
/// installed tool: --version, config --help, and peak, which loads libtorch from the natives the tool package
/// carries. The work is build/check-tool.sh --no-build (also runnable by hand); about 35 s on CI's 2 cores, most of
/// it compressing libtorch into the ~120 MiB tool package, so it runs one at a time with the mpirun tests.
/// </summary>
[Collection(MpiCollection.Name)]
[Trait("Category", "Packaging")]
public sealed class ToolPackageTests
{
    [Fact]
    public void PackedToolInstallsOfflineAndRuns()
    {
        string configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Parent!.Name;
        var r = MpiRun.Start("bash", [Path.Combine(MpiRun.RepoRoot, "build", "check-tool.sh"), "--no-build"],
            TimeSpan.FromMinutes(5), new Dictionary<string, string> { ["CONFIGURATION"] = configuration });
        Assert.True(r.ExitCode == 0, r.Describe());
        Assert.Contains("check-tool: OK", r.Stdout);
    }
}
