using SharpTitan.Distributed;
using TorchSharp;

namespace SharpTitan.Parallel;

/// <summary>
/// Tied embeddings under pipeline parallel (the 1B and 3B flavors): the first stage's token embedding is also the
/// last stage's output projection. The last stage's rank keeps a copy of the weight; after each local batch the two
/// ranks sum their gradients (both uses), so their identical optimizer steps keep the copies equal. The copy is
/// counted once in the gradient norm and saved once (by the first stage's rank); a V schedule puts both stages on
/// rank 0, where one tensor serves both and nothing is exchanged.
/// </summary>
internal sealed class TiedEmbedding : IDisposable
{
    public const string Weight = "tok_embeddings.weight";

    private readonly IProcessGroup? _pair;

    /// <summary>This rank holds the last stage but not the first: its weight is the copy.</summary>
    public bool HoldsCopy { get; }

    private TiedEmbedding(IProcessGroup? pair, bool holdsCopy) => (_pair, HoldsCopy) = (pair, holdsCopy);

    /// <summary>Null unless the model ties its embeddings. Collective over <paramref name="pp"/> when the two stages' ranks differ.</summary>
    public static TiedEmbedding? For(bool tied, PipelinePlan plan, IProcessGroup pp)
    {
        if (!tied) return null;
        int first = plan.RankOf(0), last = plan.RankOf(plan.Stages.Count - 1);
        if (first == last) return new TiedEmbedding(null, false);
        bool member = pp.Rank == first || pp.Rank == last;
        var pair = pp.Split(member ? 0 : 1, pp.Rank, "pp_tied");
        if (!member)
        {
            pair.Dispose();
            pair = null;
        }
        return new TiedEmbedding(pair, pp.Rank == last);
    }

    /// <summary>Whether this rank keeps <paramref name="name"/> for the tie (besides its stages' own parameters).</summary>
    public bool Keeps(string name) => HoldsCopy && name == Weight;

    /// <summary>Sums the embedding weight's gradient over the two ranks, in place (others: nothing).</summary>
    public void SumGradient(string name, torch.Tensor grad)
    {
        if (_pair == null || name != Weight) return;
        _pair.AllReduceInPlace(grad);
    }

    public void Dispose() => _pair?.Dispose();
}
