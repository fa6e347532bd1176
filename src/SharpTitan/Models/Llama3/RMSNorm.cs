using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SharpTitan.Models.Llama3;

/// <summary>Root-mean-square norm: x / sqrt(mean(x^2) + eps) * weight, normalised in fp32 (TorchSharp has none).</summary>
public sealed class RMSNorm : nn.Module<Tensor, Tensor>
{
    private readonly double _eps;
    public Parameter weight;

    public RMSNorm(long dim, double eps) : base(nameof(RMSNorm))
    {
        _eps = eps;
        weight = new Parameter(ones(dim));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var xf = x.to(ScalarType.Float32);
        var normed = xf * (xf.square().mean([-1L], keepdim: true) + _eps).rsqrt();
        return (normed.to(x.dtype) * weight).MoveToOuterDisposeScope();
    }

    public void ResetParameters()
    {
        using var _ = no_grad();
        weight.fill_(1.0);
    }
}
