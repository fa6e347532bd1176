using SharpTitan.Config;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>
/// Context parallel's load-balanced split of a causal sequence (torchtitan's head-tail layout): the sequence is cut
/// into 2 x degree chunks and rank r holds chunks r and 2 x degree - 1 - r, in that order, so every rank has as many
/// query-key pairs under the causal mask as any other.
/// </summary>
internal sealed class LoadBalancedLayout(int degree, int rank)
{
    public int Degree { get; } = degree;
    public int Rank { get; } = rank;

    /// <summary>
    /// A one-line error unless <paramref name="seqLen"/> splits into 2 x degree equal chunks, each a multiple of
    /// <paramref name="sequenceParallel"/> (the TP degree under sequence parallel, which splits each rank's part again).
    /// </summary>
    public static void Validate(int seqLen, int degree, int sequenceParallel, string key)
    {
        if (degree <= 1) return;
        if (sequenceParallel > 1 && seqLen % (2 * degree * sequenceParallel) != 0)
            throw new ConfigException($"{key} = {seqLen} does not divide by 2 x parallelism.context_parallel_degree x tensor_parallel_degree = {2 * degree * sequenceParallel} (context parallel cuts each sequence into 2 x {degree} chunks, sequence parallel each rank's part into {sequenceParallel})");
        if (seqLen % (2 * degree) != 0)
            throw new ConfigException($"{key} = {seqLen} does not divide by 2 x parallelism.context_parallel_degree = {2 * degree} (context parallel cuts each sequence into that many chunks)");
    }

    /// <summary>The two global chunk indices rank <paramref name="rank"/> holds: low, then high.</summary>
    public (int Low, int High) ChunksOf(int rank) => (rank, 2 * Degree - 1 - rank);

    /// <summary>The global positions of this rank's tokens in a sequence of <paramref name="seqLen"/>, in local order.</summary>
    public long[] Positions(long seqLen) => PositionsOf(Rank, seqLen);

    private long[] PositionsOf(int rank, long seqLen)
    {
        long chunk = seqLen / (2 * Degree);
        var (low, high) = ChunksOf(rank);
        return [.. Range(low * chunk, chunk), .. Range(high * chunk, chunk)];
    }

    /// <summary>For a gathered tensor whose dimension holds every rank's local part in rank order: where each global position sits.</summary>
    public long[] GlobalOrder(long seqLen)
    {
        long local = seqLen / Degree;
        var order = new long[seqLen];
        for (int r = 0; r < Degree; r++)
        {
            var positions = PositionsOf(r, seqLen);
            for (int i = 0; i < positions.Length; i++) order[positions[i]] = r * local + i;
        }
        return order;
    }

    /// <summary>This rank's part of <paramref name="x"/> along <paramref name="dim"/> (a global sequence).</summary>
    public Tensor Shard(Tensor x, long dim) => Select(x, dim, Positions(x.shape[dim]));

    /// <summary>A gathered tensor (every rank's part along <paramref name="dim"/>, rank order) back in global order.</summary>
    public Tensor Unshard(Tensor gathered, long dim) => Select(gathered, dim, GlobalOrder(gathered.shape[dim]));

    private static Tensor Select(Tensor x, long dim, long[] index)
    {
        using var idx = tensor(index, device: x.device);
        return x.index_select(dim, idx);
    }

    private static IEnumerable<long> Range(long start, long count)
    {
        for (long i = 0; i < count; i++) yield return start + i;
    }
}
