namespace SharpTitan.Config;

/// <summary>float8.recipe_name: torchao's Float8 scaling recipes.</summary>
public enum Float8RecipeName
{
    /// <summary>One scale per tensor.</summary>
    Tensorwise,
    /// <summary>One scale per row of each matmul operand.</summary>
    Rowwise,
    /// <summary>Rowwise, with the weight-gradient matmul in high precision.</summary>
    RowwiseWithGwHp,
}
