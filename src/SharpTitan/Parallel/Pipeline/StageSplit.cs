using SharpTitan.Config;

namespace SharpTitan.Parallel;

/// <summary>
/// torchtitan's split of a Llama model into pipeline stages (generate_llm_fqn_per_model_part): the embedding
/// counts as <c>inputWeight</c> layers and the norm + output as <c>outputWeight</c>, the effective layers are shared
/// out evenly, the first stages taking one more where they do not divide.
/// </summary>
public static class StageSplit
{
    public static IReadOnlyList<StageModules> Even(int stages, int layers, int inputWeight, int outputWeight)
    {
        if (stages == 1) return [new StageModules(0, true, 0, layers, true)];
        int effective = layers + inputWeight + outputWeight;
        const string Keys = "parallelism.pipeline_parallel_first_stage_less_layers / last_stage_less_layers";
        if (stages > effective)
            throw new ConfigException($"pipeline parallel: {stages} stages for {layers} layers (+{inputWeight} +{outputWeight} for the embedding and output, {Keys}): more stages than layers");
        int perStage = effective / stages, extra = effective % stages;
        if (inputWeight > perStage || outputWeight > perStage)
            throw new ConfigException($"pipeline parallel: {stages} stages of {perStage} effective layers cannot hold the embedding's weight {inputWeight} and the output's {outputWeight} ({Keys})");
        var result = new List<StageModules>();
        int next = 0;
        for (int s = 0; s < stages; s++)
        {
            int size = perStage + (s < extra ? 1 : 0);
            bool first = s == 0, last = s == stages - 1;
            int count = Math.Min(layers - next, size - (first ? inputWeight : 0) - (last ? outputWeight : 0));
            if (last) count = layers - next; // whatever is left (torchtitan's loop ends with every layer placed)
            result.Add(new StageModules(s, first, next, Math.Max(0, count), last));
            next += Math.Max(0, count);
        }
        return result;
    }

    /// <summary>
    /// Stages from explicit FQN lists (parallelism.module_fqns_per_model_part): in order they must name
    /// tok_embeddings, layers.0 ... layers.N-1, norm, output, each once, none empty.
    /// </summary>
    public static IReadOnlyList<StageModules> Explicit(IReadOnlyList<IReadOnlyList<string>> parts, int layers)
    {
        const string Key = "'parallelism.module_fqns_per_model_part'";
        var expected = new List<string> { "tok_embeddings" };
        expected.AddRange(Enumerable.Range(0, layers).Select(i => $"layers.{i}"));
        expected.AddRange(["norm", "output"]);
        var flat = parts.SelectMany(p => p).ToList();
        if (!flat.SequenceEqual(expected))
            throw new ConfigException($"{Key}: the parts must list {string.Join(", ", expected)} in this order, each once; got {string.Join(", ", flat)}");
        var result = new List<StageModules>();
        int next = 0;
        for (int s = 0; s < parts.Count; s++)
        {
            var names = parts[s];
            if (names.Count == 0) throw new ConfigException($"{Key}: model part {s} is empty");
            if (names.Contains("norm") != names.Contains("output"))
                throw new ConfigException($"{Key}: norm and output must be in the same model part (part {s} has one of them)");
            int count = names.Count(n => n.StartsWith("layers.", StringComparison.Ordinal));
            result.Add(new StageModules(s, names.Contains("tok_embeddings"), next, count, names.Contains("output")));
            next += count;
        }
        return result;
    }
}
