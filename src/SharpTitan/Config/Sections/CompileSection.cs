namespace SharpTitan.Config;

/// <summary>[compile]: torch.compile (not available in SharpTitan; refused when enabled).</summary>
public sealed class CompileSection
{
    [Doc("torch.compile the components (not built).")]
    public bool Enable { get; set; }
    [Doc("What compile.enable compiles: \"model\", \"loss\" (read only by compile, which is not built).")]
    public CompileComponent[] Components { get; set; } = [CompileComponent.Model, CompileComponent.Loss];
}
