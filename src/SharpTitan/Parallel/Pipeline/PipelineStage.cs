using SharpTitan.Models.Llama3;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>One stage of the model on this rank: runs its pieces of the plain model's forward in order.</summary>
internal sealed class PipelineStage(Transformer model, StageModules modules)
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
}
