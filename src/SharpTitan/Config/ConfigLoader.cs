using Tomlyn;
using Tomlyn.Model;

namespace SharpTitan.Config;

/// <summary>Builds a <see cref="JobConfig"/> from defaults, a TOML file, then `--section.key value` overrides.</summary>
public static class ConfigLoader
{
    public static JobConfig Load(string? tomlPath, IReadOnlyList<string>? overrides = null)
    {
        var config = new JobConfig();
        if (tomlPath != null)
        {
            tomlPath = ProjectAssets.Resolve(tomlPath); // configs/... works from any folder
            if (!File.Exists(tomlPath)) throw new ConfigException($"config file not found: {tomlPath}");
            ApplyToml(config, File.ReadAllText(tomlPath), tomlPath);
        }
        if (overrides != null) ApplyOverrides(config, overrides);
        ConfigValidator.Validate(config);
        return config;
    }

    public static void ApplyToml(JobConfig config, string text, string fileName)
    {
        TomlTable root;
        try
        {
            root = TomlSerializer.Deserialize<TomlTable>(text)!;
        }
        catch (TomlException e)
        {
            throw new ConfigException($"{fileName}: TOML syntax error {e.Message.Split('\n')[0].Trim()}");
        }
        foreach (var (sectionName, sectionValue) in root)
        {
            string where = $"{fileName}: ";
            var section = ConfigSchema.FindSection(sectionName, where);
            if (sectionValue is not TomlTable table)
                throw new ConfigException($"{where}'{sectionName}' must be a [section] table, not a single value");
            foreach (var (keyName, value) in table)
            {
                var key = ConfigSchema.FindKey(section.Name, keyName, where);
                ConfigSchema.Set(config, key, value is TomlArray a ? a.ToList() : value, where);
            }
        }
    }

    /// <summary>
    /// `--section.key value`, `--section.key=value`, bare `--section.flag` (true) for booleans, and torchtitan's
    /// spellings (<see cref="OverrideName"/>): hyphens for underscores, `--section.no-flag` (false).
    /// </summary>
    public static void ApplyOverrides(JobConfig config, IReadOnlyList<string> args)
    {
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (!arg.StartsWith("--") || !arg.Contains('.'))
                throw new ConfigException($"unexpected argument '{arg}': expected --section.key value");
            string body = arg[2..];
            string? value = null;
            int eq = body.IndexOf('=');
            if (eq >= 0) { value = body[(eq + 1)..]; body = body[..eq]; }
            var (key, negated) = OverrideName.Resolve(body);
            if (negated)
            {
                if (value != null) throw new ConfigException($"command line: --{body} takes no value (it sets {key.FullName} = false)");
                value = "false";
            }
            if (value == null)
            {
                bool nextIsValue = i + 1 < args.Count && !args[i + 1].StartsWith("--");
                if (key.ValueType == typeof(bool) && (!nextIsValue || !IsBoolWord(args[i + 1]))) value = "true";
                else if (nextIsValue) value = args[++i];
                else throw new ConfigException($"command line: --{key.FullName} needs a value");
            }
            ConfigSchema.Set(config, key, value, "command line: ", fromCommandLine: true);
        }
    }

    private static bool IsBoolWord(string s) => s.ToLowerInvariant() is "true" or "false" or "1" or "0" or "yes" or "no";
}
