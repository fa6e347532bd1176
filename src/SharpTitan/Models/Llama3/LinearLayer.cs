using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SharpTitan.Models.Llama3;

/// <summary>
/// How a <see cref="LinearLayer"/> computes y = x Wᵀ. A transform (Float8, async tensor parallel) installs its own
/// so the model's code stays plain; the result must be differentiable in both the input and the weight.
/// </summary>
internal interface ILinearKernel
{
    Tensor Apply(Tensor input, Tensor weight);
}

/// <summary>
/// A bias-free linear layer, y = x Wᵀ, with the parameter name "weight" as nn.Linear. Unlike TorchSharp's sealed
/// Linear its matmul can be replaced through <see cref="Kernel"/>; null runs the plain matmul.
/// </summary>
public sealed class LinearLayer : nn.Module<Tensor, Tensor>
{
    public Parameter weight;

    public long InFeatures => weight.shape[1];
    public long OutFeatures => weight.shape[0];

    /// <summary>The matmul a transform put in place of the plain one (null: F.linear).</summary>
    internal ILinearKernel? Kernel { get; set; }

    public LinearLayer(long inFeatures, long outFeatures) : base(nameof(LinearLayer))
    {
        weight = new Parameter(empty(outFeatures, inFeatures));
        // nn.Linear's default init, so a model built without InitWeights draws the same random stream as before.
        using (no_grad()) nn.init.kaiming_uniform_(weight, a: Math.Sqrt(5));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => Kernel is { } k ? k.Apply(x, weight) : F.linear(x, weight);
}
