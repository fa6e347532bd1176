using SharpTitan.Distributed;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>
/// Tensor-parallel collectives along one dimension of an activation, built on the group's flat rank-major
/// collectives. These are the raw (non-differentiable) forms; <see cref="TpCollective"/> pairs them for autograd.
/// </summary>
internal static class TpComm
{
    private static long _ticks;

    /// <summary>Wall time this process has spent inside TP collectives (for the share of step time in TP communication).</summary>
    public static TimeSpan Elapsed => TimeSpan.FromTicks(Interlocked.Read(ref _ticks));

    /// <summary>Runs <paramref name="collective"/> (or a wait on an async one) and adds its wall time to <see cref="Elapsed"/>.</summary>
    internal static void Time(Action collective)
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        collective();
        Interlocked.Add(ref _ticks, System.Diagnostics.Stopwatch.GetElapsedTime(start).Ticks);
    }

    /// <summary>
    /// Concatenates every rank's <paramref name="x"/> along <paramref name="dim"/> (rank order). With
    /// <paramref name="fullSize"/>, the blocks are uneven (see <see cref="Block"/>): each is padded for the
    /// collective and the result trimmed to fullSize.
    /// </summary>
    public static Tensor AllGather(Tensor x, IProcessGroup group, long dim, long fullSize = -1)
    {
        using var scope = NewDisposeScope();
        dim = dim < 0 ? dim + x.dim() : dim;
        var input = x.contiguous();
        if (fullSize >= 0)
        {
            long pad = Block(fullSize, group.Size, 0).Count - x.shape[dim];
            if (pad > 0)
            {
                var padShape = x.shape.ToArray();
                padShape[dim] = pad;
                input = cat([input, zeros(padShape, x.dtype, device: x.device)], dim);
            }
        }
        var buffer = empty([group.Size, .. input.shape], x.dtype, device: x.device);
        Time(() => group.AllGather(buffer, input));
        // [tp, ..., n, ...] -> [..., tp, n, ...] -> [..., tp * n, ...]
        var result = buffer.movedim([0L], [dim]).flatten(dim, dim + 1);
        result = (fullSize >= 0 ? result.narrow(dim, 0, fullSize) : result).contiguous();
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>Sums <paramref name="x"/> over ranks and keeps this rank's block along <paramref name="dim"/>.</summary>
    public static Tensor ReduceScatter(Tensor x, IProcessGroup group, long dim)
    {
        using var scope = NewDisposeScope();
        dim = dim < 0 ? dim + x.dim() : dim;
        long n = x.shape[dim];
        if (n % group.Size != 0) throw new ArgumentException($"tensor parallel: dimension {dim} of size {n} does not split over {group.Size} ranks");
        var shape = x.shape.ToList();
        shape[(int)dim] = n / group.Size;
        shape.Insert((int)dim, group.Size);
        // [..., tp * n, ...] -> [tp, ..., n, ...]: rank r's block first in r-major order.
        var input = x.reshape([.. shape]).movedim([dim], [0L]).contiguous();
        var output = empty(input.shape.Skip(1).ToArray(), x.dtype, device: x.device);
        Time(() => group.ReduceScatter(output, input));
        return output.MoveToOuterDisposeScope();
    }

    /// <summary>Sum over ranks (a new tensor).</summary>
    public static Tensor AllReduce(Tensor x, IProcessGroup group)
    {
        var result = x.contiguous().clone();
        Time(() => group.AllReduce(result));
        return result;
    }

    /// <summary>This rank's block of <paramref name="x"/> along <paramref name="dim"/> (a contiguous copy; uneven blocks allowed).</summary>
    public static Tensor Chunk(Tensor x, IProcessGroup group, long dim)
    {
        var (start, count) = Block(x.shape[dim < 0 ? dim + x.dim() : dim], group.Size, group.Rank);
        return x.narrow(dim, start, count).contiguous();
    }

    /// <summary>
    /// Rank <paramref name="rank"/>'s block of <paramref name="size"/> items split over <paramref name="ranks"/>:
    /// ceil(size / ranks) each, the last ones shorter (or empty) when it does not divide (a 259-token vocabulary).
    /// </summary>
    public static (long Start, long Count) Block(long size, int ranks, int rank)
    {
        long block = (size + ranks - 1) / ranks;
        long start = Math.Min(size, rank * block);
        return (start, Math.Min(block, size - start));
    }
}

