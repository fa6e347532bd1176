using System.CommandLine;
using System.Reflection;
using SharpTitan.Cli.Commands;
using SharpTitan.Config;
using SharpTitan.Tests.Support;

namespace SharpTitan.Tests.Cli;

/// <summary>Every verb answers --help (exit 0), the tool --version; train's and config's help list every config key.</summary>
public class CliHelpTests
{
    public static TheoryData<string> Verbs => [.. CommandLine.Commands.Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(Verbs))]
    public void EveryVerbAnswersHelpWithItsOptions(string verb)
    {
        foreach (var flag in new[] { "--help", "-h" })
        {
            var r = InProcessCli.Run(verb, flag);
            Assert.Equal(0, r.Code);
            Assert.Equal("", r.Err);
            Assert.Contains($"sharptitan {verb}", r.Out);
            var command = CommandLine.Commands.Single(c => c.Name == verb).Command;
            Assert.All(command.Options, o => Assert.Contains(o.Name, r.Out));
            Assert.All(command.Arguments, a => Assert.Contains(a.Name, r.Out));
        }
    }

    [Theory]
    [InlineData("train")]
    [InlineData("config")]
    [InlineData("convert")]
    public void VerbsThatTakeAConfigListEveryKeyWithTypeDefaultAndMeaning(string verb)
    {
        var r = InProcessCli.Run(verb, "--help");
        Assert.Equal(0, r.Code);
        Assert.Contains(ConfigHelp.Text(), r.Out); // the schema's one text: help cannot drift from parsing
        foreach (var key in ConfigSchema.Sections.SelectMany(s => s.Keys))
            Assert.Contains($"  {key.Name}: {ConfigHelp.TypeName(key)}; default ", r.Out);
        Assert.Contains("--job.config_file", r.Out);
        Assert.Contains("--section.no-flag", r.Out);
    }

    [Fact]
    public void OtherVerbsDoNotListConfigKeys()
    {
        var r = InProcessCli.Run("peak", "--help");
        Assert.DoesNotContain("[training]", r.Out);
        Assert.Contains("--threads", r.Out);
    }

    [Fact]
    public void TheToolsHelpListsEveryVerbAndABareCallIsAnError()
    {
        var help = InProcessCli.Run("--help");
        Assert.Equal(0, help.Code);
        Assert.All(CommandLine.Commands, c => Assert.Contains($"  {c.Name}", help.Out));
        var bare = InProcessCli.Run();
        Assert.Equal(ExitCodes.InputError, bare.Code);
        Assert.Contains("train", bare.Out);
    }

    [Fact]
    public void VersionPrintsTheToolsVersion()
    {
        var r = InProcessCli.Run("--version");
        Assert.Equal(0, r.Code);
        string version = typeof(CommandLine).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        Assert.Equal(version, r.Out.Trim());
    }

    [Theory]
    [InlineData(new[] { "bogus" }, "sharptitan: error: ")]
    [InlineData(new[] { "download", "c5" }, "sharptitan download: error: Argument 'c5' not recognized. Must be one of: 'c4'")]
    [InlineData(new[] { "generate", "--prompt", "x" }, "sharptitan generate: error: Option '--checkpoint' is required.")]
    [InlineData(new[] { "peak", "--threads", "0" }, "sharptitan peak: error: --threads expects a positive integer")]
    [InlineData(new[] { "plot", "run", "--bogus", "--out", "x.png" }, "sharptitan plot: error: ")]
    [InlineData(new[] { "convert", "--to", "hf", "a", "b", "--bogus" }, "sharptitan convert: error: unknown option '--bogus'")]
    [InlineData(new[] { "launch", "-n", "2", "train" }, "sharptitan launch: error: give the command the ranks run after '--'")]
    [InlineData(new[] { "train", "--training.stepz", "3" }, "sharptitan train: error: command line: unknown key 'training.stepz'")]
    public void BadCommandLinesAreOneLineErrorsWithExitCode2(string[] args, string start)
    {
        var r = InProcessCli.Run(args);
        Assert.Equal(ExitCodes.InputError, r.Code);
        Assert.StartsWith(start, Assert.Single(r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        Assert.Equal("", r.Out);
    }

    [Fact]
    public void VerbDefinitionsDeclareEveryOptionOnce()
    {
        foreach (var verb in CommandLine.Commands)
        {
            var names = verb.Command.Options.SelectMany(o => o.Aliases.Append(o.Name)).ToList();
            Assert.Equal(names.Count, names.Distinct().Count());
            Assert.False(string.IsNullOrEmpty(verb.Command.Description), $"{verb.Name} has no summary");
            Assert.All(verb.Command.Options, o => Assert.False(string.IsNullOrEmpty(o.Description), $"{verb.Name} {o.Name} has no description"));
        }
    }
}
