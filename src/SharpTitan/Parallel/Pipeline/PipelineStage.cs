using SharpTitan.Models.Llama3;
using Parameter = TorchSharp.Modules.Parameter;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>One stage of the model on this rank: runs its pieces of the plain model's forward in order.</summary>
/// <param name="recomputes">Whether block i is an activation-checkpointed (self-accumulating) autograd node.</param>
/// <param name="deferred">The linears whose weight gradients split backwards take as (x, dy) pairs, if any.</param>
internal sealed class PipelineStage(Transformer model, StageModules modules, Func<int, bool>? recomputes = null,
    DeferredWeightGradients? deferred = null)
{
    public StageModules Modules => modules;
    public int Index => modules.Index;
    public bool IsFirst => modules.Embedding;
    public bool IsLast => modules.Head;

    /// <summary>Tokens [rows, seq] (first stage) or hidden states [rows, seq, dim] -> hidden states, or logits (last stage).</summary>
    public Tensor Forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var h = IsFirst ? model.Embed(input) : input;
        foreach (int i in modules.Layers) h = model.Layer(i, h);
        if (IsLast) h = model.Head(h);
        return h.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The same forward kept as a <see cref="StageGraph"/> cut between the embedding, each block and the head, for
    /// backwards split into I and W. <paramref name="input"/> (hidden states requiring grad, or tokens) stays the caller's.
    /// </summary>
    public StageGraph ForwardSegments(Tensor input)
    {
        using var scope = NewDisposeScope();
        var graph = new StageGraph(IsFirst ? null : input, deferred);
        if (IsFirst) graph.Add(null, model.Embed(input), Parameters(model.tok_embeddings), false);
        foreach (int i in modules.Layers)
        {
            var x = graph.NextInput()!;
            graph.Add(x, model.Layer(i, x), Parameters(model.layers[i]), recomputes?.Invoke(i) ?? false);
        }
        if (IsLast)
        {
            var x = graph.NextInput()!;
            // Tied: the output projection is the embedding's weight.
            graph.Add(x, model.Head(x), [.. Parameters(model.norm), .. Parameters(model.output ?? (nn.Module)model.tok_embeddings)], false);
        }
        return graph;
    }

    private static List<Parameter> Parameters(TorchSharp.torch.nn.Module m) => [.. m.parameters()];

    /// <summary>The linear layers of a stage's blocks and head.</summary>
    public static IEnumerable<LinearLayer> LinearLayers(Transformer model, StageModules modules)
    {
        foreach (int i in modules.Layers)
        {
            var (a, f) = (model.layers[i].attention, model.layers[i].feed_forward);
            foreach (var l in new[] { a.wq, a.wk, a.wv, a.wo, f.w1, f.w2, f.w3 }) yield return l;
        }
        if (modules.Head && model.output is { } output) yield return output;
    }
}
