namespace SharpTitan.Config;

/// <summary>The numeric key must lie in [Min, Max].</summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class RangeAttribute(double min, double max) : Attribute
{
    public double Min { get; } = min;
    public double Max { get; } = max;
}
