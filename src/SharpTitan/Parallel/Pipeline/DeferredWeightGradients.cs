using SharpTitan.Models.Llama3;
using SharpTitan.Native;
using Parameter = TorchSharp.Modules.Parameter;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>
/// The zero-bubble schedules' weight gradients without a second backward: the stage's plain linear layers (those
/// whose matmul no other transform replaced: float8 and async TP keep theirs) run through
/// <see cref="DeferredLinearFunction"/>. While an I action runs (<see cref="Defer"/>), their backward computes only
/// the input gradient and keeps (x, dy) in the micro-batch's list; its W action then adds dyᵀ x to each weight's
/// gradient: the matmuls a fused backward would have run, and nothing else. Outside I (B, evaluation, activation
/// checkpointing's recompute under B) the function returns both gradients as F.linear's backward does.
/// </summary>
internal sealed class DeferredWeightGradients : IDisposable
{
    private readonly List<LinearLayer> _layers = [];

    /// <summary>The list the running I action's linear backwards add to; null: compute weight gradients at once.</summary>
    internal List<(Parameter Weight, Tensor X, Tensor Dy)>? Current { get; private set; }

    public DeferredWeightGradients(IEnumerable<LinearLayer> layers)
    {
        foreach (var layer in layers.Where(l => l.Kernel == null))
        {
            layer.Kernel = new DeferredLinearKernel(this, layer);
            _layers.Add(layer);
        }
    }

    /// <summary>True when a deferred linear's W matmul computes this parameter's gradient (asked of the layers now:
    /// converting the model's dtype replaces its parameters).</summary>
    public bool Handles(Parameter p) => _layers.Any(l => ReferenceEquals(l.weight, p));

    /// <summary>Linear backwards inside the returned scope keep (x, dy) in <paramref name="pending"/> instead of computing weight gradients.</summary>
    public IDisposable Defer(List<(Parameter Weight, Tensor X, Tensor Dy)> pending)
    {
        Current = pending;
        return new Restore(this);
    }

    /// <summary>W: adds dyᵀ x of every kept pair to its weight's gradient and frees the pairs.</summary>
    public static void Accumulate(List<(Parameter Weight, Tensor X, Tensor Dy)> pending)
    {
        using var _ = no_grad();
        foreach (var (weight, x, dy) in pending)
        {
            using (var scope = NewDisposeScope())
            {
                var grad = dy.reshape(-1, dy.shape[^1]).t().mm(x.reshape(-1, x.shape[^1]));
                if (weight.grad is { } existing) existing.add_(grad);
                else weight.grad = grad.DetachFromDisposeScope();
            }
            x.Dispose();
            dy.Dispose();
        }
        pending.Clear();
    }

    /// <summary>Frees pairs whose W never ran (a failed step).</summary>
    public static void Discard(List<(Parameter Weight, Tensor X, Tensor Dy)> pending)
    {
        foreach (var (_, x, dy) in pending)
        {
            x.Dispose();
            dy.Dispose();
        }
        pending.Clear();
    }

    public void Dispose()
    {
        foreach (var layer in _layers) layer.Kernel = null;
        _layers.Clear();
    }

    private sealed class Restore(DeferredWeightGradients owner) : IDisposable
    {
        public void Dispose() => owner.Current = null;
    }

    private sealed class DeferredLinearKernel(DeferredWeightGradients owner, LinearLayer layer) : ILinearKernel
    {
        public Tensor Apply(Tensor input, Tensor w) => DeferredLinearFunction.Apply(input, w, new DeferredLinearCall(owner, layer));
    }
}

internal sealed record DeferredLinearCall(DeferredWeightGradients Owner, LinearLayer Layer);

/// <summary>y = x Wᵀ whose backward leaves the weight gradient to a later W action while an I action runs (see <see cref="DeferredWeightGradients"/>).</summary>
internal sealed class DeferredLinearFunction : LeanFunction<DeferredLinearFunction>
{
    public override string Name => "DeferredLinear";

    // vars: [x [.., in], weight [out, in], DeferredLinearCall]
    protected override Tensor Forward(autograd.AutogradContext ctx, object[] vars)
    {
        var (x, w, call) = ((Tensor)vars[0], (Tensor)vars[1], (DeferredLinearCall)vars[2]);
        ctx.save_for_backward([x, w]);
        ctx.save_data("call", call);
        return nn.functional.linear(x, w);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        using var scope = new BackwardScope(gradOutput);
        var call = (DeferredLinearCall)ctx.get_data("call");
        var saved = ctx.get_saved_variables();
        var (x, w) = (saved[0], saved[1]);
        var gradInput = gradOutput.matmul(w);
        if (call.Owner.Current is { } pending)
        {
            // Kept until W: aliases that outlive this backward's scope (the graph may be freed before W runs).
            pending.Add((call.Layer.weight, x.detach().DetachFromDisposeScope(), gradOutput.detach().DetachFromDisposeScope()));
            return scope.HandOut(gradInput, null, null);
        }
        var gradWeight = gradOutput.reshape(-1, gradOutput.shape[^1]).t().mm(x.reshape(-1, x.shape[^1]));
        return scope.HandOut(gradInput, gradWeight, null);
    }
}
