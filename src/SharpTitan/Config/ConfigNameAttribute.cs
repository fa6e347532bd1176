namespace SharpTitan.Config;

/// <summary>
/// The string a config enum member is written as in TOML and on the command line, when it is not the member's
/// snake_case name (torchtitan's exact spelling: "AdamW", "for-loop", "bfloat16").
/// </summary>
[AttributeUsage(AttributeTargets.Field)]
internal sealed class ConfigNameAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}
