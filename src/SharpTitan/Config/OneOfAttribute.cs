namespace SharpTitan.Config;

/// <summary>
/// The key accepts only these values (for a list key: each element). On an enum key it narrows the enum's
/// config names to this subset (e.g. a <see cref="Dtype"/> key that takes only "float32" or "bfloat16").
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class OneOfAttribute(params string[] values) : Attribute
{
    public string[] Values { get; } = values;
}
