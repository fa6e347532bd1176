using SharpTitan.Models.Llama3;
using SharpTitan.Native;
using static TorchSharp.torch;

namespace SharpTitan.Float8;

/// <summary>
/// A <see cref="LinearLayer"/>'s matmul in float8 (<see cref="Float8LinearFunction"/>): y = x Wᵀ with x and W
/// cast to float8 with dynamic scales, and in backward the output gradient too. Accepts any leading shape of the
/// input (async tensor parallel calls it on sequence chunks). The result and the gradients come out in the
/// compute dtype: autocast's when it is on, else the input's.
/// </summary>
internal sealed class Float8LinearKernel(string name, Float8Recipe recipe, Float8MatmulMode mode, Float8TpLayout? tp) : ILinearKernel
{
    /// <summary>The layer's fully-qualified name, e.g. layers.0.attention.wq.</summary>
    public string Name { get; } = name;
    public Float8Recipe Recipe { get; } = recipe;
    public Float8MatmulMode Mode { get; } = mode;
    public Float8TpLayout? Tp { get; } = tp;

    /// <summary>
    /// The weight already in float8 (tensorwise), set by FSDP's float8 all-gather while the gathered weight is in
    /// place and cleared when it is freed; null: the kernel casts the weight itself.
    /// </summary>
    public Float8Tensor? PrecastWeight { get; set; }

    public Tensor Apply(Tensor input, Tensor weight)
    {
        long inFeatures = weight.shape[1], outFeatures = weight.shape[0];
        var outDtype = Autocast.IsEnabled ? Autocast.Dtype : input.dtype;
        var precast = PrecastWeight is { } p && p.Data.shape.SequenceEqual(weight.shape) ? p : null;
        var y = Float8LinearFunction.Apply(input.reshape(-1, inFeatures), weight, new Float8LinearCall(this, outDtype, precast));
        return y.view([.. input.shape[..^1], outFeatures]);
    }

    /// <summary>
    /// x cast to float8: one scale (<paramref name="dim"/> null) or one per slice along the other axis, the amax
    /// taken along <paramref name="dim"/>, which is the matmul axis <paramref name="axis"/>. Under tensor parallel
    /// a tensorwise amax is always all-reduced (max) over the group: that is the identity for a replicated tensor
    /// and the full tensor's amax for a split one, or for sequence chunks processed in rank order; a rowwise amax
    /// only when its axis is split (rows of different ranks are different rows).
    /// </summary>
    internal Float8Tensor Cast(Tensor x, Float8Format format, long? dim, LinearAxis axis)
    {
        using var scope = NewDisposeScope();
        var amax = Float8Cast.Amax(x, dim);
        if (Tp != null && (dim == null || Tp.IsSharded(axis))) Tp.AllReduceMax(amax);
        var scale = Float8Cast.ScaleFromAmax(amax, format, Recipe.PowerOfTwoScales);
        var q = Float8Cast.Quantize(x, scale, format);
        q.Data.MoveToOuterDisposeScope();
        q.Scale.MoveToOuterDisposeScope();
        return q;
    }
}
