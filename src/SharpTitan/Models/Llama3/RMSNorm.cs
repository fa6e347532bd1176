using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SharpTitan.Models.Llama3;

/// <summary>
/// How an <see cref="RMSNorm"/> computes its output. A kernel installed from outside the model (a fused norm with
/// its own backward) must give the same forward values and be differentiable in the input and the weight.
/// </summary>
internal interface INormKernel
{
    Tensor Apply(Tensor x, Tensor weight, double eps);
}

/// <summary>
/// Root-mean-square norm: x / sqrt(mean(x^2) + eps) * weight, normalised in fp32 (TorchSharp has none). Its plain
/// form leaves the backward to autograd; <see cref="Kernel"/> can replace it.
/// </summary>
public sealed class RMSNorm : nn.Module<Tensor, Tensor>
{
    private readonly double _eps;
    public Parameter weight;

    /// <summary>The norm a transform put in place of the plain one (null: <see cref="Plain"/>).</summary>
    internal INormKernel? Kernel { get; set; }

    public double Eps => _eps;

    public RMSNorm(long dim, double eps) : base(nameof(RMSNorm))
    {
        _eps = eps;
        weight = new Parameter(ones(dim));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => Kernel is { } k ? k.Apply(x, weight, _eps) : Plain(x, weight, _eps);

    /// <summary>The norm in plain operations: (x in fp32 times its reciprocal rms), cast back to x's dtype, times weight.</summary>
    public static Tensor Plain(Tensor x, Tensor weight, double eps)
    {
        using var scope = NewDisposeScope();
        var xf = x.to(ScalarType.Float32);
        var normed = xf * ReciprocalRms(xf, eps);
        return (normed.to(x.dtype) * weight).MoveToOuterDisposeScope();
    }

    /// <summary>1 / sqrt(mean(xf^2) + eps) over the last dimension, kept as [.., 1].</summary>
    public static Tensor ReciprocalRms(Tensor xf, double eps) => (xf.square().mean([-1L], keepdim: true) + eps).rsqrt();

    public void ResetParameters()
    {
        using var _ = no_grad();
        weight.fill_(1.0);
    }
}
