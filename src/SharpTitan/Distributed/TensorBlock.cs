namespace SharpTitan.Distributed;

/// <summary>
/// A rectangular block of a global tensor: indices [Offset[d], Offset[d] + Shape[d]) along each dimension d (a
/// tensor-parallel rank's slice). A piece or chunk names a flat range of its block in row-major order; this turns
/// such a range into runs of consecutive elements of the global tensor, which is how pieces of two layouts meet.
/// </summary>
public sealed record TensorBlock(long[] Offset, long[] Shape)
{
    public long Numel => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>
    /// Elements [start, start + count) of <paramref name="block"/> (null = the whole tensor) as runs of the global
    /// tensor, ascending: (first global element, position within the block's flat order, length).
    /// </summary>
    public static IEnumerable<(long Global, long Local, long Count)> Runs(long[] globalShape, TensorBlock? block, long start, long count)
    {
        if (count <= 0) yield break;
        if (block == null)
        {
            yield return (start, start, count);
            yield break;
        }
        int n = globalShape.Length;
        var stride = new long[n];
        for (int d = n - 1; d >= 0; d--) stride[d] = d == n - 1 ? 1 : stride[d + 1] * globalShape[d + 1];
        // Dimensions after j span the whole tensor, so each step of the dimensions up to j is one contiguous run.
        int j = n - 1;
        while (j > 0 && block.Shape[j] == globalShape[j]) j--;
        long run = 1;
        for (int d = j; d < n; d++) run *= block.Shape[d];
        long origin = 0;
        for (int d = 0; d < n; d++) origin += block.Offset[d] * stride[d];
        long end = start + count;
        for (long r = start / run; r * run < end; r++)
        {
            long global = origin, rest = r;
            for (int d = j - 1; d >= 0; d--)
            {
                global += rest % block.Shape[d] * stride[d];
                rest /= block.Shape[d];
            }
            long lo = Math.Max(start, r * run), hi = Math.Min(end, (r + 1) * run);
            yield return (global + lo - r * run, lo, hi - lo);
        }
    }

    /// <summary>This block of a whole tensor (a view).</summary>
    public TorchSharp.torch.Tensor Of(TorchSharp.torch.Tensor full)
    {
        var t = full.alias();
        for (int d = 0; d < Shape.Length; d++)
        {
            var next = t.narrow(d, Offset[d], Shape[d]);
            t.Dispose();
            t = next;
        }
        return t;
    }
}
