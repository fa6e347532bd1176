namespace SharpTitan.Config;

/// <summary>The key accepts only these values (for a list key: each element).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class OneOfAttribute(params string[] values) : Attribute
{
    public string[] Values { get; } = values;
}

/// <summary>The numeric key must lie in [Min, Max].</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class RangeAttribute(double min, double max) : Attribute
{
    public double Min { get; } = min;
    public double Max { get; } = max;
}
