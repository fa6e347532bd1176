using static TorchSharp.torch;

namespace SharpTitan.Optim;

/// <summary>Global-norm gradient clipping. The caller reduces the local sum of squares across ranks.</summary>
public static class GradientClipping
{
    /// <summary>Sum of squared gradient elements of these tensors (fp64 accumulate).</summary>
    public static double LocalSumOfSquares(IEnumerable<Tensor> parameters)
    {
        using var scope = NewDisposeScope(); // the .grad handles
        double total = 0;
        foreach (var p in parameters)
            if (p.grad is { } g) total += SumOfSquares(g);
        return total;
    }

    /// <summary>
    /// Sum of squares of one tensor's elements, accumulated in fp64 one block at a time: converting a whole
    /// 100M-element gradient to fp64 first allocates (and page-faults) 800 MB per step, which cost 1-2 s of a
    /// 10 s step on one thread.
    /// </summary>
    public static double SumOfSquares(Tensor tensor)
    {
        const long Block = 1 << 18; // 2 MiB of fp64: stays in cache, and malloc reuses it block after block
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        // On a GPU the blocks would each cost a host-device synchronization (thousands per step, 0.4 s of a 0.8 s
        // step on an H200): one norm kernel per tensor (fp32 accumulation, as torch.nn.utils.clip_grad_norm_), one sync.
        if (!Native.ComputeDevice.IsCpu(tensor.device))
        {
            double norm = linalg.vector_norm(tensor.detach(), 2).item<float>();
            return norm * norm;
        }
        var flat = tensor.detach().reshape(-1);
        long n = flat.shape[0];
        double total = 0;
        for (long start = 0; start < n; start += Block)
        {
            using var wide = flat.narrow(0, start, Math.Min(Block, n - start)).to(ScalarType.Float64);
            using var sum = wide.dot(wide);
            total += sum.item<double>();
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
