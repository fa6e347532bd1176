using System.Text;

namespace SharpTitan.Config;

/// <summary>Writes the effective config as TOML (what `sharptitan config` prints and checkpoints carry).</summary>
public static class ConfigPrinter
{
    public static string ToToml(JobConfig config)
    {
        var sb = new StringBuilder();
        foreach (var section in ConfigSchema.Sections)
        {
            sb.Append('[').Append(section.Name).AppendLine("]");
            foreach (var key in section.Keys)
            {
                var value = ConfigSchema.Get(config, key);
                if (value == null) sb.Append("# ").Append(key.Name).AppendLine(" = (unset)");
                else sb.Append(key.Name).Append(" = ").AppendLine(ConfigSchema.Show(value));
            }
            sb.AppendLine();
        }
        return sb.ToString();
    }
}
