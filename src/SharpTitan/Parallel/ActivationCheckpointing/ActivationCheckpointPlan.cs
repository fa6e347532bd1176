using SharpTitan.Config;

namespace SharpTitan.Parallel;

/// <summary>
/// Which blocks [activation_checkpoint] recomputes, with torchtitan's meaning:
/// <list type="bullet">
/// <item>"none": no block recomputes.</item>
/// <item>"full": every block keeps only its input in forward and recomputes its forward in backward.</item>
/// <item>"selective" with selective_ac_option = N (an integer): blocks N-1, 2N-1, ... (every Nth, counted from 1 as
/// torchtitan's wrapper counter does) recompute as in "full"; the others keep their activations.</item>
/// <item>"selective" with "op": every block keeps the outputs of its matmuls and attention and recomputes the
/// cheap ops (norms, RoPE, SiLU, elementwise) in backward; see <see cref="SelectiveOpRecorder"/>.</item>
/// </list>
/// </summary>
internal sealed record ActivationCheckpointPlan(string Mode, bool[] FullLayers, bool Op)
{
    public bool Any => Op || FullLayers.Any(x => x);

    public static ActivationCheckpointPlan For(ActivationCheckpointSection section, int layers)
    {
        var none = new bool[layers];
        switch (section.Mode)
        {
            case ActivationCheckpointMode.None: return new("none", none, false);
            case ActivationCheckpointMode.Full: return new("full", Enumerable.Repeat(true, layers).ToArray(), false);
            case ActivationCheckpointMode.Selective when section.SelectiveAcOption == "op": return new("selective op", none, true);
            case ActivationCheckpointMode.Selective:
                if (!int.TryParse(section.SelectiveAcOption, out int every) || every < 1)
                    throw new ConfigException($"activation_checkpoint.selective_ac_option = \"{section.SelectiveAcOption}\": expected \"op\" or a positive integer");
                return new($"selective every {every}", Enumerable.Range(1, layers).Select(i => i % every == 0).ToArray(), false);
            default:
                throw new ConfigException($"activation_checkpoint.mode = {section.Mode}: expected none, full or selective");
        }
    }

    public string Describe(bool dataParallel = false) => Op && dataParallel
        ? "activation checkpointing: selective op adds nothing under FSDP (resharding blocks already recompute whole; the others keep their activations)"
        : Op ? "activation checkpointing: selective op (matmul and attention outputs kept, cheap ops recomputed)"
        : $"activation checkpointing: {Mode} ({FullLayers.Count(x => x)} of {FullLayers.Length} blocks recompute in backward)";
}
