namespace SharpTitan.Config;

/// <summary>
/// The key a command-line override names, in torchtitan's spellings too: hyphens for underscores
/// (`--training.local-batch-size` is `--training.local_batch_size`) and `--section.no-flag` for a boolean flag = false.
/// </summary>
internal static class OverrideName
{
    private const string Where = "command line: ";

    /// <param name="name">"section.key" as written after the leading `--`.</param>
    /// <returns>The key, and whether the name was the `no-` form (the value is then false).</returns>
    public static (ConfigSchema.Key Key, bool Negated) Resolve(string name)
    {
        name = name.Replace('-', '_');
        int dot = name.IndexOf('.');
        string section = name[..dot], key = name[(dot + 1)..];
        var keys = ConfigSchema.FindSection(section, Where).Keys;
        if (key.StartsWith("no_", StringComparison.Ordinal) && keys.All(k => k.Name != key)
            && keys.FirstOrDefault(k => k.Name == key[3..]) is { } flag && flag.ValueType == typeof(bool))
            return (flag, true);
        return (ConfigSchema.FindKey(section, key, Where), false);
    }
}
