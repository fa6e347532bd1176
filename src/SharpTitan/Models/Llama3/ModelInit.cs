using static TorchSharp.torch;

namespace SharpTitan.Models.Llama3;

/// <summary>torchtitan's weight initialisation helpers.</summary>
internal static class ModelInit
{
    /// <summary>
    /// Normal(0, std) truncated to [a, b] (torch's default bounds are the absolute values -2 and 2). Sampled by
    /// inverting the normal CDF over the uniform range [CDF(a), CDF(b)]; TorchSharp's own trunc_normal_ returns
    /// values with a wrong scale, so it is not used.
    /// </summary>
    public static void TruncNormal(Tensor weight, double std, double a = -2, double b = 2)
    {
        using var _ = no_grad();
        double lo = NormalCdf(a / std), hi = NormalCdf(b / std);
        weight.uniform_(2 * lo - 1, 2 * hi - 1);
        weight.erfinv_();
        weight.mul_(std * Math.Sqrt(2.0));
        weight.clamp_(a, b);
    }

    private static double NormalCdf(double x) => 0.5 * (1 + Erf(x / Math.Sqrt(2.0)));

    // erf through a Chebyshev fit of erfc (fractional error below 1.2e-7): ample, since the bounds only decide
    // where the tails are cut.
    private static double Erf(double x)
    {
        double z = Math.Abs(x);
        double t = 1 / (1 + 0.5 * z);
        double r = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
                   t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
                   t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? 1 - r : r - 1;
    }
}
