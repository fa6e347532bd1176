using SharpTitan.Models.Llama3;
using SharpTitan.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpTitan.Kernels;

/// <summary>
/// RMSNorm with its own backward, as PyTorch's fused rms_norm: the forward's values are the plain norm's, bit for
/// bit, but backward keeps only the input and the reciprocal rms per row, where autograd on the plain operations
/// keeps the input's fp32 copy and the normalised activations as well (on an 8B-shape layer at seq 8192 that is
/// ~200 MB per norm, two norms per block). The gradients are the plain norm's within rounding: the weight's is
/// summed in fp32.
/// </summary>
internal sealed class FusedRmsNorm : INormKernel
{
    public static readonly FusedRmsNorm Instance = new();

    public Tensor Apply(Tensor x, Tensor weight, double eps) => FusedRmsNormFunction.Apply(x, weight, eps);

    /// <summary>Puts the fused norm into every RMSNorm of <paramref name="model"/>.</summary>
    public static void Install(nn.Module model)
    {
        foreach (var (_, module) in model.named_modules())
            if (module is RMSNorm norm) norm.Kernel = Instance;
    }
}

/// <summary>y = cast(x_f32 · r) · w with r = 1 / sqrt(mean(x_f32²) + eps); backward from (x, w, r).</summary>
internal sealed class FusedRmsNormFunction : LeanFunction<FusedRmsNormFunction>
{
    public override string Name => "FusedRmsNorm";

    // vars: [x [.., dim], weight [dim], eps (double)]
    protected override Tensor Forward(autograd.AutogradContext ctx, object[] vars)
    {
        var (x, w, eps) = ((Tensor)vars[0], (Tensor)vars[1], (double)vars[2]);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var xf = x.to(ScalarType.Float32, copy: true); // normalised in place below
        var r = RMSNorm.ReciprocalRms(xf, eps);
        var y = xf.mul_(r).to(x.dtype) * w;
        // The context saves its tensors after forward returns: r must outlive this scope.
        ctx.save_for_backward([x, w, r]);
        r.MoveToOuterDisposeScope();
        return y.MoveToOuterDisposeScope();
    }

    // With x̂ = x_f32 · r and g = dy · w (fp32): dx = r · (g - x̂ · mean(g · x̂)), dw = Σ_rows dy · cast(x̂).
    // In place where it can be, so at most three full-size fp32 temporaries are alive at once.
    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        using var scope = new BackwardScope(gradOutput);
        using var _ = no_grad();
        var saved = ctx.get_saved_variables();
        var (x, w, r) = (saved[0], saved[1], saved[2]);
        var g = gradOutput.to(ScalarType.Float32, copy: true);               // dy for now
        var xhat = x.to(ScalarType.Float32, copy: true).mul_(r);
        Tensor dw;
        using (var product = x.dtype == ScalarType.Float32 ? xhat.mul(g) : xhat.to(x.dtype).to(ScalarType.Float32).mul_(g))
            dw = product.reshape(-1, x.shape[^1]).sum([0L]).to(w.dtype);
        g.mul_(w.to(ScalarType.Float32));
        Tensor mean;
        using (var gx = g.mul(xhat)) mean = gx.mean([-1L], keepdim: true);
        var dx = g.sub_(xhat.mul_(mean)).mul_(r);
        xhat.Dispose();
        return scope.HandOut(x.dtype == ScalarType.Float32 ? dx : dx.to(x.dtype), dw, null);
    }
}
