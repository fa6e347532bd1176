using System.Text;

namespace SharpTitan.Config;

/// <summary>What `sharptitan config --help` prints: every key with its type, default and meaning.</summary>
public static class ConfigHelp
{
    public static string Text()
    {
        var defaults = new JobConfig();
        var sb = new StringBuilder();
        sb.AppendLine("Config keys: `key = value` under [section] in a TOML file, or --section.key value on the command line.");
        sb.AppendLine("Each key: its type, its default, then what it means.");
        foreach (var section in ConfigSchema.Sections)
        {
            sb.AppendLine().Append('[').Append(section.Name).AppendLine("]");
            foreach (var key in section.Keys)
            {
                var value = ConfigSchema.Get(defaults, key);
                string shown = value == null ? "unset" : ConfigSchema.Show(value);
                sb.Append("  ").Append(key.Name).Append(": ").Append(TypeName(key)).Append("; default ").AppendLine(shown);
                sb.Append("      ").AppendLine(key.Doc ?? "(no description)");
            }
        }
        return sb.ToString();
    }

    /// <summary>The key's type in words: "an integer", "one of \"a\", \"b\"", "a list of \"a\", \"b\"", ...</summary>
    internal static string TypeName(ConfigSchema.Key key)
    {
        var t = key.ValueType;
        string Choices() => string.Join(", ", key.AllowedValues!.Select(v => $"\"{v}\""));
        string name =
            t == typeof(bool) ? "true or false"
            : t == typeof(int) ? "an integer"
            : t == typeof(double) ? "a number"
            : t == typeof(string[][]) ? "a list of lists of strings"
            : t.IsArray ? key.AllowedValues != null ? $"a list of {Choices()}" : "a list of strings"
            : key.AllowedValues != null ? $"one of {Choices()}"
            : "a string";
        return key.IsNullable ? name + " or unset" : name;
    }
}
