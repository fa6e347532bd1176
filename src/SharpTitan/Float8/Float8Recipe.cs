using SharpTitan.Config;

namespace SharpTitan.Float8;

/// <summary>
/// float8.recipe_name, as torchao defines the recipes:
/// <list type="bullet">
/// <item>tensorwise: one scale per tensor; inputs and weights e4m3, output gradients e5m2.</item>
/// <item>rowwise: one scale per row of each matmul operand (along the contraction), every operand e4m3, scales
/// rounded down to powers of two.</item>
/// <item>rowwise_with_gw_hp: rowwise, except the weight-gradient matmul runs in high precision.</item>
/// </list>
/// </summary>
public sealed record Float8Recipe(string Name, bool Rowwise, bool WeightGradInHighPrecision)
{
    public static readonly Float8Recipe Tensorwise = new("tensorwise", false, false);
    public static readonly Float8Recipe RowwiseRecipe = new("rowwise", true, false);
    public static readonly Float8Recipe RowwiseWithGwHp = new("rowwise_with_gw_hp", true, true);

    internal Float8Format GradientFormat => Rowwise ? Float8Format.E4M3 : Float8Format.E5M2;
    public bool PowerOfTwoScales => Rowwise;

    public static Float8Recipe Parse(string name) => name switch
    {
        "tensorwise" => Tensorwise,
        "rowwise" => RowwiseRecipe,
        "rowwise_with_gw_hp" => RowwiseWithGwHp,
        _ => throw new ConfigException($"'float8.recipe_name' = \"{name}\": expected \"tensorwise\", \"rowwise\" or \"rowwise_with_gw_hp\""),
    };
}
