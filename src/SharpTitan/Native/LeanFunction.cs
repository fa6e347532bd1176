using System.Reflection;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpTitan.Native;

/// <summary>
/// A custom autograd function whose graph node does not hold a tensor the size of its output. TorchSharp's node keeps
/// an uninitialised <c>empty_like</c> of every output from forward until the graph dies, only so that backward can
/// make zeros of that shape when the output's gradient comes back undefined. On CPU those pages are never touched;
/// on CUDA the caching allocator reserves them: every fused norm, float8 linear and replayed matmul output twice
/// between forward and backward. <see cref="Apply"/> replaces each such tensor with a one-element tensor expanded
/// to the same shape, dtype and device, from which the zeros come out the same. Subclasses implement
/// <see cref="Forward"/> and callers use <see cref="Apply"/> (ArchitectureTests forbids TorchSharp's <c>apply</c>).
/// </summary>
internal abstract class LeanFunction<T> : autograd.SingleTensorFunction<T> where T : LeanFunction<T>, new()
{
    private static readonly FieldInfo? ContextNode =
        typeof(autograd.AutogradContext).GetField("_node", BindingFlags.NonPublic | BindingFlags.Instance);

    [ThreadStatic] private static autograd.AutogradContext? _lastContext;

    /// <summary>Runs the function (TorchSharp's <c>apply</c>) and shrinks what its node keeps of the output.</summary>
    public static Tensor Apply(params object[] vars)
    {
        _lastContext = null;
        try
        {
            var output = apply(vars);
            if (_lastContext is { } ctx) ShrinkOutputTemplates(ctx);
            return output;
        }
        finally
        {
            _lastContext = null;
        }
    }

    public sealed override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var output = Forward(ctx, vars);
        _lastContext = ctx; // after Forward: an Apply of the same function inside it must not take the place of ours
        return output;
    }

    /// <summary>The function's forward, as TorchSharp's <c>forward</c>.</summary>
    protected abstract Tensor Forward(autograd.AutogradContext ctx, object[] vars);

    /// <summary>The node's output templates, or null where this TorchSharp keeps none (or keeps them elsewhere).</summary>
    internal static List<Tensor?>? OutputTemplates(autograd.AutogradContext ctx)
    {
        var node = ContextNode?.GetValue(ctx);
        var field = node?.GetType().GetField("_outputCache", BindingFlags.NonPublic | BindingFlags.Instance);
        return field?.GetValue(node) as List<Tensor?>;
    }

    private static void ShrinkOutputTemplates(autograd.AutogradContext ctx)
    {
        var templates = OutputTemplates(ctx);
        if (templates == null) return;
        for (int i = 0; i < templates.Count; i++)
        {
            var t = templates[i];
            if (t is null || t.numel() <= 1) continue;
            // Owned by the node from now on (it disposes its templates when the graph dies), not by any scope.
            using (var one = empty(1, t.dtype, t.device))
                templates[i] = one.expand(t.shape).DetachFromDisposeScope();
            t.Dispose();
        }
    }
}
