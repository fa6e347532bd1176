using System.Reflection;
using SharpTitan.Models.Llama3;

namespace SharpTitan.Config;

/// <summary>Checks every key's range and allowed values, and the rules that tie keys together.</summary>
internal static class ConfigValidator
{
    public static void Validate(JobConfig config)
    {
        foreach (var section in ConfigSchema.Sections)
        foreach (var key in section.Keys)
            CheckKey(key, ConfigSchema.Get(config, key));

        if (!ModelFlavors.Llama3.ContainsKey(config.Model.Flavor))
            throw new ConfigException(
                $"'model.flavor' = \"{config.Model.Flavor}\": expected one of {string.Join(", ", ModelFlavors.Llama3.Keys)}"
                + ConfigSchema.Suggest(config.Model.Flavor, ModelFlavors.Llama3.Keys));

        var ac = config.ActivationCheckpoint;
        if (ac.Mode == ActivationCheckpointMode.Selective && ac.SelectiveAcOption != "op" && !(int.TryParse(ac.SelectiveAcOption, out int n) && n >= 1))
            throw new ConfigException(
                $"'activation_checkpoint.selective_ac_option' = \"{ac.SelectiveAcOption}\": expected \"op\" or a positive integer N (checkpoint every Nth block)");

        if (config.Checkpoint.LastSaveInHf && !config.Checkpoint.LastSaveModelOnly)
            throw new ConfigException("'checkpoint.last_save_in_hf' = true needs checkpoint.last_save_model_only = true: a Hugging Face folder holds only the model");

        if (config.Checkpoint.CreateSeedCheckpoint && !config.Checkpoint.Enable)
            throw new ConfigException("'checkpoint.create_seed_checkpoint' = true needs checkpoint.enable = true (the seed is written to the checkpoint folder)");

        var t = config.Training;
        if (t.GlobalBatchSize != -1 && t.GlobalBatchSize < t.LocalBatchSize)
            throw new ConfigException(
                $"'training.global_batch_size' = {t.GlobalBatchSize}: expected -1 or a multiple of training.local_batch_size ({t.LocalBatchSize}) x the data-parallel degree");
    }

    private static void CheckKey(ConfigSchema.Key key, object? value)
    {
        if (value == null) return;
        if (key.AllowedValues is { } allowed)
        {
            string[] values = value switch
            {
                string s => [s],
                string[] arr => arr,
                Enum e => [ConfigEnum.Name(e)],
                Array a => a.Cast<Enum>().Select(ConfigEnum.Name).ToArray(),
                _ => [],
            };
            foreach (var v in values)
                if (!allowed.Contains(v)) throw new ConfigException(ConfigSchema.NotOneOf(key, v));
        }
        var range = key.Property.GetCustomAttribute<RangeAttribute>();
        if (range != null)
        {
            double d = Convert.ToDouble(value);
            if (double.IsNaN(d) || d < range.Min || d > range.Max)
                throw new ConfigException($"'{key.FullName}' = {ConfigSchema.Show(value)}: expected a value in [{Fmt(range.Min)}, {Fmt(range.Max)}]");
        }
    }

    private static string Fmt(double d) =>
        d >= int.MaxValue ? "inf" : d.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
