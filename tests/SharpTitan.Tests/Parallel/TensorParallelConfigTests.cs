using SharpTitan.Config;
using SharpTitan.Models.Llama3;
using SharpTitan.Parallel;
using SharpTitan.Tests.Distributed;
using SharpTitan.Tests.Support;

namespace SharpTitan.Tests.Parallel;

/// <summary>
/// Tensor parallel configurations that cannot run are one-line errors (TP layouts against one process are rows
/// of <see cref="FeatureMatrixTests"/>).
/// </summary>
[Collection(MpiCollection.Name)]
public class TensorParallelConfigTests
{
    [Fact]
    public void AHeadCountTheDegreeDoesNotDivideIsAOneLineConfigError()
    {
        var e = Assert.Throws<ConfigException>(() => TensorParallel.Validate(ModelFlavors.Llama3["tiny"], 4,
            new TensorParallelOptions(true, true, false), 32));
        Assert.Contains("parallelism.tensor_parallel_degree = 4", e.Message);
        Assert.Contains("n_kv_heads (2)", e.Message);
        Assert.DoesNotContain('\n', e.Message);

        var tied = Assert.Throws<ConfigException>(() => TensorParallel.Validate(ModelFlavors.Llama3["tiny_tied"], 2,
            new TensorParallelOptions(true, LossParallel: false, false), 32));
        Assert.Contains("needs loss parallel: set parallelism.disable_loss_parallel = false", tied.Message);
        var validation = Assert.Throws<ConfigException>(() => TensorParallel.Validate(ModelFlavors.Llama3["tiny"], 2,
            new TensorParallelOptions(true, true, false), 32, validationSeqLen: 33));
        Assert.Contains("validation.seq_len = 33 must be a multiple of parallelism.tensor_parallel_degree (2)", validation.Message);

        var r = new TinyRun { Ranks = 4, Tp = 4, Steps = 1 }.Start(out _);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("parallelism.tensor_parallel_degree = 4 must divide the model's n_heads (4) and n_kv_heads (2)", r.Output);
    }
}
