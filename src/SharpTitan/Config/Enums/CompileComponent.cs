namespace SharpTitan.Config;

/// <summary>An element of compile.components: what torch.compile would compile.</summary>
public enum CompileComponent
{
    Model,
    Loss,
}
