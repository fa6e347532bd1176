using static TorchSharp.torch;

namespace SharpTitan.Models.Llama3;

/// <summary>torchtitan's weight initialisation helpers.</summary>
public static class ModelInit
{
    /// <summary>Truncated normal; bounds default to torch's absolute [-2, 2] unless given.</summary>
    public static void TruncNormal(Tensor weight, double std, double a = -2, double b = 2)
    {
        using var _ = no_grad();
        nn.init.trunc_normal_(weight, 0.0, std, a, b);
    }
}
