using static TorchSharp.torch;

namespace SharpTitan.Optim;

/// <summary>
/// Adam and AdamW (torch's formulas) over a list of tensors: whole parameters, or the local shards that a
/// parallel transform hands it. State (exp_avg, exp_avg_sq) is allocated up front so no step-scoped dispose
/// scope can take it, and is exposed for checkpoints.
/// </summary>
public sealed class AdamW : IDisposable
{
    private readonly IReadOnlyList<Tensor> _params;
    private readonly Tensor[] _expAvg, _expAvgSq;
    public double Lr { get; set; }
    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Eps { get; }
    public double WeightDecay { get; }
    /// <summary>True: decoupled weight decay (AdamW); false: L2 added to the gradient (Adam).</summary>
    public bool Decoupled { get; }
    public long StepCount { get; set; }

    public AdamW(IReadOnlyList<Tensor> parameters, double lr, double beta1, double beta2, double eps, double weightDecay,
        bool decoupled = true)
    {
        _params = parameters;
        (Lr, Beta1, Beta2, Eps, WeightDecay, Decoupled) = (lr, beta1, beta2, eps, weightDecay, decoupled);
        _expAvg = parameters.Select(p => zeros_like(p, dtype: ScalarType.Float32).DetachFromDisposeScope()).ToArray();
        _expAvgSq = parameters.Select(p => zeros_like(p, dtype: ScalarType.Float32).DetachFromDisposeScope()).ToArray();
    }

    public IReadOnlyList<Tensor> Parameters => _params;
    public IReadOnlyList<Tensor> ExpAvg => _expAvg;
    public IReadOnlyList<Tensor> ExpAvgSq => _expAvgSq;

    public void ZeroGrad()
    {
        foreach (var p in _params) p.grad = null;
    }

    public void Step()
    {
        StepCount++;
        double bc1 = 1 - Math.Pow(Beta1, StepCount);
        double bc2Sqrt = Math.Sqrt(1 - Math.Pow(Beta2, StepCount));
        using var _ = no_grad();
        for (int i = 0; i < _params.Count; i++)
        {
            // One scope per parameter: its temporaries (the denominator is as large as the parameter) are freed
            // before the next parameter's are made, so the step adds at most one parameter's worth of memory.
            using var scope = NewDisposeScope();
            var p = _params[i];
            var g = p.grad;
            if (g is null) continue;
            if (g.dtype != ScalarType.Float32) g = g.to(ScalarType.Float32);
            var master = p.dtype == ScalarType.Float32 ? p : p.to(ScalarType.Float32);
            if (WeightDecay != 0)
            {
                if (Decoupled) master.mul_(1 - Lr * WeightDecay);
                else g = g.add(master, alpha: WeightDecay);
            }
            _expAvg[i].lerp_(g, 1 - Beta1);
            _expAvgSq[i].mul_(Beta2).addcmul_(g, g, 1 - Beta2);
            var denom = _expAvgSq[i].sqrt().div_(bc2Sqrt).add_(Eps);
            master.addcdiv_(_expAvg[i], denom, -Lr / bc1);
            if (!ReferenceEquals(master, p)) p.copy_(master);
        }
    }

    public void Dispose()
    {
        foreach (var t in _expAvg) t.Dispose();
        foreach (var t in _expAvgSq) t.Dispose();
    }
}
