using SharpTitan.Config;

namespace SharpTitan.Float8;

/// <summary>The [float8] section, checked.</summary>
public sealed record Float8Options(Float8Recipe Recipe, bool Emulate, IReadOnlyList<string> FilterFqns,
    bool FsdpFloat8AllGather, bool PrecomputeScales)
{
    /// <summary>Dimensions of a float8 linear must be multiples of this (float8 matmul kernels' constraint).</summary>
    public const int DimMultiple = 16;

    public static bool Requested(ModelSection model) => model.Converters.Contains(ModelConverter.Float8);

    public static Float8Options From(Float8Section s)
    {
        var recipe = Float8Recipe.Parse(s.RecipeName.ToConfigString());
        if (s.EnableFsdpFloat8AllGather && recipe != Float8Recipe.Tensorwise)
            throw new ConfigException($"'float8.enable_fsdp_float8_all_gather' = true needs float8.recipe_name = \"tensorwise\" (got \"{s.RecipeName.ToConfigString()}\")");
        if (s.PrecomputeFloat8DynamicScaleForFsdp && !s.EnableFsdpFloat8AllGather)
            throw new ConfigException("'float8.precompute_float8_dynamic_scale_for_fsdp' = true needs float8.enable_fsdp_float8_all_gather = true");
        return new Float8Options(recipe, s.Emulate, s.FilterFqns, s.EnableFsdpFloat8AllGather, s.PrecomputeFloat8DynamicScaleForFsdp);
    }
}
