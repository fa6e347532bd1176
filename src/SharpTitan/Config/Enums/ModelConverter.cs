namespace SharpTitan.Config;

/// <summary>An element of model.converters: a transform applied to the model after it is built.</summary>
public enum ModelConverter
{
    Float8,
}
