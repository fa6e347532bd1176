using SharpTitan.Distributed;

namespace SharpTitan.Float8;

/// <summary>
/// How tensor parallel split the weights the float8 converter sees (it runs after TP): amaxes of split weights are
/// reduced over <see cref="Group"/> where the recipe's scale spans the split.
/// </summary>
internal interface IWeightSplit
{
    IProcessGroup Group { get; }

    /// <summary>The dimension along which a parameter is split over <see cref="Group"/> (0 rows, 1 columns), or null when replicated.</summary>
    int? WeightShardDim(string name);
}
