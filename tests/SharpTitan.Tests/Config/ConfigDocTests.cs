using SharpTitan.Config;

namespace SharpTitan.Tests.Config;

/// <summary>Every key says what it means, and `sharptitan config --help` shows it with the key's type and default.</summary>
public class ConfigDocTests
{
    private static IEnumerable<ConfigSchema.Key> AllKeys => ConfigSchema.Sections.SelectMany(s => s.Keys);

    [Fact]
    public void EveryKeyHasADocLine()
    {
        var missing = AllKeys.Where(k => string.IsNullOrWhiteSpace(k.Doc)).Select(k => k.FullName).ToList();
        Assert.Empty(missing);
        Assert.All(AllKeys, k => Assert.DoesNotContain("\n", k.Doc));
    }

    [Fact]
    public void HelpListsEveryKeyWithTypeDefaultAndMeaning()
    {
        string help = ConfigHelp.Text();
        foreach (var section in ConfigSchema.Sections)
            Assert.Contains($"\n[{section.Name}]\n", help);
        foreach (var key in AllKeys)
            Assert.Contains($"  {key.Name}: {ConfigHelp.TypeName(key)}; default ", help);
        foreach (var key in AllKeys)
            Assert.Contains(key.Doc!, help);
        Assert.Contains("  dtype: one of \"float32\", \"bfloat16\"; default \"float32\"\n", help);
        Assert.Contains("  name: one of \"AdamW\", \"Adam\"; default \"AdamW\"\n", help);
        Assert.Contains("  converters: a list of \"float8\"; default []\n", help);
        Assert.Contains("  seed: an integer or unset; default unset\n", help);
        Assert.Contains("  steps: an integer; default 10000\n", help);
    }

    [Fact]
    public void ConfigCommandHelpPrintsTheKeysAndSucceeds()
    {
        var command = new SharpTitan.Cli.Commands.ConfigCommand();
        var saved = Console.Out;
        var output = new StringWriter();
        int rc;
        try
        {
            Console.SetOut(output);
            rc = command.Run(["--help"]);
        }
        finally { Console.SetOut(saved); }
        Assert.Equal(0, rc);
        Assert.Contains(ConfigHelp.Text(), output.ToString()); // after the command's usage and options
    }
}
