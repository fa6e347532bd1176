using SharpTitan.Config;

namespace SharpTitan.Training;

/// <summary>
/// Config values that ask for something this build does not do yet: an error, never silently ignored.
/// Remove a line here when its feature lands.
/// </summary>
internal static class FeatureGate
{
    public static void RequireBuilt(JobConfig c)
    {
        void No(bool asked, string what) { if (asked) throw new ConfigException($"{what} is not built yet in SharpTitan"); }
        No(c.Model.Converters.Contains(ModelConverter.Float8) && c.ActivationCheckpoint.Mode == ActivationCheckpointMode.Selective && c.ActivationCheckpoint.SelectiveAcOption == "op",
            "activation_checkpoint.selective_ac_option = \"op\" with model.converters = [\"float8\"] (its replay runs the linears' backward in high precision)");
        No(c.Compile.Enable, "compile.enable");
        No(c.Metrics.EnableWandb, "metrics.enable_wandb");
        No(c.Training.EnableCpuOffload, "training.enable_cpu_offload");
        No(c.Optimizer.EarlyStepInBackward, "optimizer.early_step_in_backward");
        No(c.Optimizer.Implementation != OptimizerImplementation.ForLoop,
            $"optimizer.implementation = \"{c.Optimizer.Implementation.ToConfigString()}\" (the one AdamW here is \"for-loop\")");
        No(c.Comm.TraceBufSize > 0, "comm.trace_buf_size > 0 (the collectives' flight recorder)");
        No(c.Parallelism.EnableCompiledAutograd, "parallelism.enable_compiled_autograd");
    }
}
