namespace SharpTitan.Config;

/// <summary>model.name: the model family.</summary>
public enum ModelName
{
    Llama3,
}
