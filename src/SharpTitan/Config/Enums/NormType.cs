namespace SharpTitan.Config;

/// <summary>model.norm_type: how the model's RMSNorms run (torchtitan's earlier key of the same name and values).</summary>
public enum NormType
{
    /// <summary>Plain tensor operations, differentiated by autograd (keeps the fp32 copy and the normalised activations for backward).</summary>
    [ConfigName("rmsnorm")] RmsNorm,
    /// <summary>The same forward with its own backward, which keeps only the input and one number per row.</summary>
    [ConfigName("fused_rmsnorm")] FusedRmsNorm,
}
