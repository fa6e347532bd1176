using SharpTitan.Native;
using SharpTitan.Models.Llama3;
using static TorchSharp.torch;

namespace SharpTitan.Float8;

/// <summary>
/// model.converters = ["float8"]: installs a <see cref="Float8LinearKernel"/> on every <see cref="LinearLayer"/>
/// except those whose fully-qualified name contains one of float8.filter_fqns (torchtitan's rule; default: the
/// output projection) and those with a dimension that is not a multiple of 16 (logged). Runs after tensor parallel
/// has split the weights (it checks the local shapes and learns each weight's split) and before FSDP.
/// </summary>
internal sealed class Float8Converter : IFloat8AllGather, IDisposable
{
    private readonly List<LinearLayer> _converted = [];
    private readonly Dictionary<string, Float8LinearKernel> _byWeight = [];
    private readonly IWeightSplit? _tp;

    public Float8Options Options { get; }
    /// <summary>The installed kernels by layer name.</summary>
    public IReadOnlyList<Float8LinearKernel> Kernels => [.. _byWeight.Values];
    /// <summary>How the matmuls run (emulation for rowwise even without float8.emulate: see <see cref="Describe"/>).</summary>
    public Float8MatmulMode Mode { get; }
    private readonly bool _onGpu;

    /// <param name="tp">How tensor parallel split the weights (null without TP).</param>
    public Float8Converter(Transformer model, Float8Options options, IWeightSplit? tp, Action<string> log)
    {
        Options = options;
        _tp = tp;
        // libtorch's CPU _scaled_mm takes tensorwise scales only; CUDA's takes rowwise ones too (bf16 output).
        _onGpu = model.parameters().Any(p => !ComputeDevice.IsCpu(p.device));
        Mode = options.Emulate || (options.Recipe.Rowwise && !_onGpu) ? Float8MatmulMode.Emulated : Float8MatmulMode.ScaledMm;
        var filtered = new List<string>();
        foreach (var (name, module) in model.named_modules())
        {
            if (module is not LinearLayer layer) continue;
            if (options.FilterFqns.Any(f => f.Length > 0 && name.Contains(f, StringComparison.Ordinal))) { filtered.Add(name); continue; }
            long outFeatures = layer.OutFeatures, inFeatures = layer.InFeatures;
            if (outFeatures % Float8Options.DimMultiple != 0 || inFeatures % Float8Options.DimMultiple != 0)
            {
                log($"float8: {name} stays in high precision: its weight [{outFeatures}, {inFeatures}] has a dimension that is not a multiple of {Float8Options.DimMultiple}");
                continue;
            }
            string weightName = name + ".weight";
            var layout = tp?.WeightShardDim(weightName) is int dim ? Float8TpLayout.FromWeightShardDim(tp.Group, dim) : null;
            var kernel = new Float8LinearKernel(name, options.Recipe, Mode, layout);
            layer.Kernel = kernel;
            _converted.Add(layer);
            _byWeight[weightName] = kernel;
        }
        log(Describe(filtered));
    }

    private string Describe(List<string> filtered)
    {
        string matmul = Mode == Float8MatmulMode.Emulated
            ? Options.Emulate ? "emulated (float8.emulate: float8 values multiplied in the compute dtype)"
                : "emulated (libtorch's CPU _scaled_mm takes one scale per tensor only; rowwise recipes multiply the float8 values in the compute dtype)"
            : _onGpu ? "libtorch CUDA _scaled_mm (float8 tensor cores)" : $"libtorch _scaled_mm ({CpuFloat8.Describe()})";
        string gather = Options.FsdpFloat8AllGather ? $", FSDP gathers float8 weights{(Options.PrecomputeScales ? " (scales precomputed after each optimizer step)" : "")}" : "";
        string kept = filtered.Count > 0 ? $"; kept in high precision (float8.filter_fqns): {string.Join(", ", filtered)}" : "";
        return $"float8: {_converted.Count} linear layers, recipe {Options.Recipe.Name}, matmuls {matmul}{gather}{kept}; MFU is not reported (not well-defined with float8)";
    }

    public bool GathersInFloat8(string parameterName) => Options.FsdpFloat8AllGather && _byWeight.ContainsKey(parameterName);

    public void SetGathered(string parameterName, Float8Tensor? weight) => _byWeight[parameterName].PrecastWeight = weight;

    public void ReduceWeightAmaxes(Tensor amaxes)
    {
        if (_tp is { } tp && tp.Group.Size > 1) tp.Group.AllReduce(amaxes, Distributed.ReduceOp.Max);
    }

    public void Dispose()
    {
        foreach (var layer in _converted) layer.Kernel = null;
        _converted.Clear();
        foreach (var k in _byWeight.Values) k.PrecastWeight = null;
    }
}
