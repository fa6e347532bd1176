using System.CommandLine;
using SharpTitan.Config;

namespace SharpTitan.Cli.Commands;

/// <summary>
/// The config part of a verb's command line: `--config FILE` (torchtitan's `--job.config_file FILE`, with `=` too) and
/// any `--section.key value` overrides, which <see cref="ConfigLoader"/> reads. Help lists every key from the schema.
/// </summary>
internal sealed class ConfigArguments
{
    private readonly Option<string> _file = new("--config", "--job.config_file", "--job.config-file")
    {
        Description = "the TOML config file (default: every key at its default); given twice, the last one counts",
        HelpName = "FILE",
        Arity = ArgumentArity.OneOrMore, // one value per occurrence; `run_train.sh --job.config_file F` overrides the script's
        CustomParser = result => result.Tokens[^1].Value,
    };

    private readonly Argument<string[]> _overrides = new("OVERRIDES")
    {
        Description = "config overrides, --section.key value (below)", Arity = ArgumentArity.ZeroOrMore,
    };

    /// <summary>What `--help` prints after the options: every config key with its type, default and meaning.</summary>
    public static string HelpNotes =>
        "\nOVERRIDES: --section.key value or --section.key=value, any number of them; a bare\n" +
        "--section.flag is true and --section.no-flag false; hyphens may replace underscores (--training.local-batch-size 4).\n\n" +
        ConfigHelp.Text();

    /// <summary>Adds `--config` and the overrides to <paramref name="command"/>; each `--section.key` is the config loader's to read.</summary>
    public void AddTo(Command command)
    {
        command.Options.Add(_file);
        command.Arguments.Add(_overrides);
    }

    /// <summary>The overrides as written (System.CommandLine leaves option-like words it does not know to arguments).</summary>
    public IReadOnlyList<string> Overrides(ParseResult parse) => parse.GetValue(_overrides)!;

    /// <summary>The config file, then the overrides.</summary>
    public JobConfig Load(ParseResult parse) => ConfigLoader.Load(parse.GetValue(_file), Overrides(parse));
}
