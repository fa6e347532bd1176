namespace SharpTitan.Parallel;

/// <summary>
/// What one pipeline stage (model part) runs: the token embedding (first stage), a contiguous run of transformer
/// layers, the final norm and output projection with the loss (last stage). Names are torchtitan's module FQNs.
/// </summary>
public sealed record StageModules(int Index, bool Embedding, int FirstLayer, int LayerCount, bool Head)
{
    public IEnumerable<int> Layers => Enumerable.Range(FirstLayer, LayerCount);

    /// <summary>The module FQNs, as in torchtitan's module_fqns_per_model_part.</summary>
    public IEnumerable<string> Fqns =>
        (Embedding ? ["tok_embeddings"] : Array.Empty<string>())
        .Concat(Layers.Select(i => $"layers.{i}"))
        .Concat(Head ? ["norm", "output"] : Array.Empty<string>());

    /// <summary>Whether the parameter named <paramref name="name"/> (torchtitan name) belongs to this stage.</summary>
    public bool Owns(string name)
    {
        if (name.StartsWith("tok_embeddings.", StringComparison.Ordinal)) return Embedding;
        if (name.StartsWith("norm.", StringComparison.Ordinal) || name.StartsWith("output.", StringComparison.Ordinal)) return Head;
        if (!name.StartsWith("layers.", StringComparison.Ordinal)) return false;
        int end = name.IndexOf('.', 7);
        int layer = int.Parse(name.AsSpan(7, (end < 0 ? name.Length : end) - 7), System.Globalization.CultureInfo.InvariantCulture);
        return layer >= FirstLayer && layer < FirstLayer + LayerCount;
    }

    public override string ToString() => $"stage {Index}: {string.Join(", ", Fqns)}";
}
