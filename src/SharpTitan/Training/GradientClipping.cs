using static TorchSharp.torch;

namespace SharpTitan.Training;

/// <summary>Global-norm gradient clipping. The caller reduces the local sum of squares across ranks.</summary>
public static class GradientClipping
{
    /// <summary>Sum of squared gradient elements of these tensors (fp64 accumulate).</summary>
    public static double LocalSumOfSquares(IEnumerable<Tensor> parameters)
    {
        using var scope = NewDisposeScope();
        double total = 0;
        foreach (var p in parameters)
        {
            var g = p.grad;
            if (g is null) continue;
            total += g.to(ScalarType.Float64).square().sum().item<double>();
        }
        return total;
    }

    /// <summary>Scales gradients so their global norm is at most maxNorm (if maxNorm > 0); returns the norm before.</summary>
    public static double ClipByGlobalNorm(IEnumerable<Tensor> parameters, double maxNorm, Func<double, double>? allReduceSum = null)
    {
        var list = parameters.ToList();
        double sumSq = LocalSumOfSquares(list);
        if (allReduceSum != null) sumSq = allReduceSum(sumSq);
        return ClipToGlobalSumOfSquares(list, maxNorm, sumSq);
    }

    /// <summary>Like <see cref="ClipByGlobalNorm"/> with the global sum of squares already known (sharded layouts).</summary>
    public static double ClipToGlobalSumOfSquares(IReadOnlyList<Tensor> list, double maxNorm, double sumSq)
    {
        double norm = Math.Sqrt(sumSq);
        if (maxNorm > 0 && double.IsFinite(norm))
        {
            double coef = Math.Min(1.0, maxNorm / (norm + 1e-6));
            if (coef < 1.0)
            {
                using var scope = NewDisposeScope();
                using var _ = no_grad();
                foreach (var p in list) p.grad?.mul_(coef);
            }
        }
        return norm;
    }
}
