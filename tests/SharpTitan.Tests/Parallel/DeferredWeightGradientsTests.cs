using SharpTitan.Models.Llama3;
using SharpTitan.Parallel;
using static TorchSharp.torch;

namespace SharpTitan.Tests.Parallel;

/// <summary>
/// A split backward with deferred linears: I leaves the linears' weight gradients for W (only the norms' arrive in I),
/// and W's dyᵀ x matmuls give the fused backward's gradients.
/// </summary>
public class DeferredWeightGradientsTests
{
    [Fact]
    public void IDefersTheLinearsWeightGradientsAndWAddsTheFusedBackwardsValues()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        using var model = new Transformer(ModelFlavors.Llama3["tiny"] with { VocabSize = 259 });
        model.InitWeights();
        model.train();
        var modules = new StageModules(0, true, 0, model.Args.NLayers, true);
        var tokens = randint(0, 259, [2, 16], dtype: ScalarType.Int64);
        var named = model.named_parameters().ToList();

        using (var graph = new PipelineStage(model, modules).ForwardSegments(tokens)) graph.Backward(null);
        var fused = named.ToDictionary(p => p.name, p => p.parameter.grad!.clone());
        model.zero_grad();

        using var deferred = new DeferredWeightGradients(PipelineStage.LinearLayers(model, modules));
        using (var graph = new PipelineStage(model, modules, deferred: deferred).ForwardSegments(tokens))
        {
            graph.BackwardInput(null);
            var wq = model.layers[0].attention.wq.weight;
            Assert.True(wq.grad is null || wq.grad.abs().max().item<float>() == 0, "I computed a deferred linear's weight gradient");
            Assert.NotNull(model.layers[0].attention_norm.weight.grad);
            graph.BackwardWeight();
        }
        foreach (var (name, p) in named)
        {
            float diff = (p.grad! - fused[name]).abs().max().item<float>(), scale = fused[name].abs().max().item<float>();
            Assert.True(diff <= 1e-5 * Math.Max(scale, 1e-6), $"{name}: max |diff| {diff} (max |grad| {scale})");
        }
    }
}
