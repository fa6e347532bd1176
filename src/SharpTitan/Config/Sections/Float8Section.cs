namespace SharpTitan.Config;

/// <summary>[float8]: the float8 recipe and its FSDP options.</summary>
public sealed class Float8Section
{
    [Doc("FSDP all-gathers Float8 weights (tensorwise recipe only).")]
    public bool EnableFsdpFloat8AllGather { get; set; }
    [Doc("Compute every Float8 weight scale at once after the optimizer step (needs enable_fsdp_float8_all_gather).")]
    public bool PrecomputeFloat8DynamicScaleForFsdp { get; set; }
    [Doc("Scaling recipe: \"tensorwise\", \"rowwise\" or \"rowwise_with_gw_hp\".")]
    public Float8RecipeName RecipeName { get; set; } = Float8RecipeName.Tensorwise;
    [Doc("Linear layers whose names contain one of these stay in high precision.")]
    public string[] FilterFqns { get; set; } = ["output"];
    [Doc("Multiply the float8 values in the compute dtype instead of a float8 matmul (for hardware without one).")]
    public bool Emulate { get; set; }
}
