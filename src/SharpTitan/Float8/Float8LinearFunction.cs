using SharpTitan.Native;
using static TorchSharp.torch;

namespace SharpTitan.Float8;

/// <summary>One call of a float8 linear: the kernel (recipe, matmul mode, TP layout), output dtype, FSDP's precast weight.</summary>
internal sealed record Float8LinearCall(Float8LinearKernel Kernel, ScalarType OutDtype, Float8Tensor? PrecastWeight);

/// <summary>
/// y = x Wᵀ in float8 for x [M, K], W [N, K], differentiable in both:
/// <list type="bullet">
/// <item>forward: y = x8 @ W8ᵀ, both e4m3 (scales per tensor, or per row of x and per output row of W).</item>
/// <item>backward: grad_x = g8 @ W8 and grad_W = g8ᵀ @ x8, with the output gradient g in e5m2 (tensorwise)
/// or e4m3 (rowwise). Rowwise operands are scaled along the contraction of each matmul, so backward casts x and
/// W again along their other axis; tensorwise reuses the forward's float8 x and W (saved at one byte an element).
/// rowwise_with_gw_hp computes grad_W = gᵀ @ x in the compute dtype.</item>
/// </list>
/// </summary>
internal sealed class Float8LinearFunction : LeanFunction<Float8LinearFunction>
{
    public override string Name => "Float8Linear";

    private sealed record Saved(Float8LinearCall Call, ScalarType InputDtype, ScalarType WeightDtype);

    // vars: [x [M, K], weight [N, K], Float8LinearCall]
    protected override Tensor Forward(autograd.AutogradContext ctx, object[] vars)
    {
        var (x, w, call) = ((Tensor)vars[0], (Tensor)vars[1], (Float8LinearCall)vars[2]);
        var kernel = call.Kernel;
        bool rowwise = kernel.Recipe.Rowwise;
        using var scope = NewDisposeScope();
        var x8 = kernel.Cast(x, Float8Format.E4M3, rowwise ? 1 : null, LinearAxis.In);
        var w8 = call.PrecastWeight ?? kernel.Cast(w, Float8Format.E4M3, rowwise ? 1 : null, LinearAxis.In);
        var y = ScaledMatmul.Multiply(x8, w8.T(), call.OutDtype, kernel.Mode);
        ctx.save_data("saved", new Saved(call, x.dtype, w.dtype));
        // The context saves its tensors after forward returns: the float8 ones made here must outlive this scope.
        if (rowwise) ctx.save_for_backward([x, w]);
        else
        {
            ctx.save_for_backward([x8.Data, x8.Scale, w8.Data, w8.Scale]);
            var made = call.PrecastWeight == null ? new[] { x8.Data, x8.Scale, w8.Data, w8.Scale } : [x8.Data, x8.Scale]; // FSDP owns its precast weight
            foreach (var t in made) t.MoveToOuterDisposeScope();
        }
        return y.MoveToOuterDisposeScope();
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        using var scope = new BackwardScope(gradOutput);
        var saved = (Saved)ctx.get_data("saved");
        var kernel = saved.Call.Kernel;
        var recipe = kernel.Recipe;
        var mode = kernel.Mode;
        var tensors = ctx.get_saved_variables();
        var g = gradOutput.contiguous();
        var dtype = g.dtype;
        Tensor gradInput, gradWeight;
        if (!recipe.Rowwise)
        {
            var x8 = new Float8Tensor(tensors[0], tensors[1], Float8Format.E4M3);
            var w8 = new Float8Tensor(tensors[2], tensors[3], Float8Format.E4M3);
            var g8 = kernel.Cast(g, recipe.GradientFormat, null, LinearAxis.Out);
            gradInput = ScaledMatmul.Multiply(g8, w8, dtype, mode);
            gradWeight = ScaledMatmul.Multiply(g8.T(), x8, dtype, mode);
        }
        else
        {
            var (x, w) = (tensors[0], tensors[1]);
            // grad_x = g @ W contracts over output features: g per row, W per column, both along N.
            var gRows = kernel.Cast(g, recipe.GradientFormat, 1, LinearAxis.Out);
            var wColumns = kernel.Cast(w, Float8Format.E4M3, 0, LinearAxis.Out);
            gradInput = ScaledMatmul.Multiply(gRows, wColumns, dtype, mode);
            if (recipe.WeightGradInHighPrecision) gradWeight = g.t().mm(x.to(dtype));
            else
            {
                // grad_W = gᵀ @ x contracts over tokens: both scaled per column, along M.
                var gColumns = kernel.Cast(g, recipe.GradientFormat, 0, LinearAxis.Tokens);
                var xColumns = kernel.Cast(x, Float8Format.E4M3, 0, LinearAxis.Tokens);
                gradWeight = ScaledMatmul.Multiply(gColumns.T(), xColumns, dtype, mode);
            }
        }
        return scope.HandOut(gradInput.to(saved.InputDtype), gradWeight.to(saved.WeightDtype), null);
    }
}
