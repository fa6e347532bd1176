using SharpTitan.Distributed;
using TorchSharp;
using static SharpTitan.MpiWorker.Values;

namespace SharpTitan.MpiWorker;

/// <summary>Every collective on one group, checked against closed forms (rank r holds (r+1)·(i+1)).</summary>
public static class CollectiveSuite
{
    public static readonly torch.ScalarType[] Dtypes = [torch.ScalarType.Float32, torch.ScalarType.BFloat16];

    public static void Run(IProcessGroup g, string label, long n = 5)
    {
        using var scope = torch.NewDisposeScope();
        int size = g.Size, rank = g.Rank;
        double s = size * (size + 1) / 2.0;   // sum over ranks of (r+1)
        foreach (var dt in Dtypes)
        {
            var tag = $"{label} {dt}";
            foreach (var (op, factor) in new[] { (ReduceOp.Sum, s), (ReduceOp.Avg, s / size), (ReduceOp.Max, size), (ReduceOp.Min, 1.0) })
            {
                var t = OfRank(rank, n, dt);
                g.AllReduce(t, op);
                Check.Equal($"{tag} all_reduce {op}", Seq(n, i => factor * (i + 1)), t);
                Check.True($"{tag} all_reduce keeps dtype", t.dtype == dt);

                var input = OfRank(rank, size * n, dt);
                var output = torch.empty(n, dt);
                g.ReduceScatter(output, input, op);
                Check.Equal($"{tag} reduce_scatter {op}", Seq(n, i => factor * (rank * n + i + 1)), output);
            }

            var gathered = torch.empty(size * n, dt);
            g.AllGather(gathered, OfRank(rank, n, dt));
            Check.Equal($"{tag} all_gather", Seq(size * n, j => (j / n + 1) * (j % n + 1)), gathered);

            // In place: the input is this rank's slice of the output, as FSDP gathers its flat parameters.
            var flat = torch.zeros(size * n, dt);
            flat.narrow(0, rank * n, n).copy_(OfRank(rank, n, dt));
            g.AllGather(flat, flat.narrow(0, rank * n, n));
            Check.Equal($"{tag} all_gather in place", Seq(size * n, j => (j / n + 1) * (j % n + 1)), flat);

            int root = size - 1;
            var b = OfRank(rank, n, dt);
            g.Broadcast(b, root);
            Check.Equal($"{tag} broadcast from {root}", Seq(n, i => (root + 1) * (i + 1)), b);

            if (size > 1) SendRecvRing(g, tag, n, dt);
            AsyncOps(g, tag, n, dt);
        }

        // Wider types reduce natively.
        foreach (var dt in new[] { torch.ScalarType.Float64, torch.ScalarType.Int64, torch.ScalarType.Int32 })
        {
            var t = OfRank(rank, n, dt);
            g.AllReduce(t);
            Check.Equal($"{label} {dt} all_reduce Sum", Seq(n, i => s * (i + 1)), t);
        }

        // A 2-D tensor: shapes do not matter, only element counts.
        var m = OfRank(rank, 6, torch.ScalarType.Float32).view(2, 3);
        var mg = torch.empty(size * 2, 3);
        g.AllGather(mg, m);
        Check.Equal($"{label} all_gather 2-D", Seq(size * 6, j => (j / 6 + 1) * (j % 6 + 1)), mg);

        var empty = torch.empty(0);
        g.AllReduce(empty);
        g.Barrier();
        Check.True($"{label} empty all_reduce and barrier", true);
        BadArguments(g, label, n);
    }

    private static void SendRecvRing(IProcessGroup g, string tag, long n, torch.ScalarType dt)
    {
        int size = g.Size, rank = g.Rank, next = (rank + 1) % size, prev = (rank + size - 1) % size;
        var mine = OfRank(rank, n, dt);
        var got = torch.empty(n, dt);
        // Even ranks send first, odd ranks receive first: blocking send/recv around a ring cannot deadlock.
        if (rank % 2 == 0) { g.Send(mine, next, tag: 7); g.Recv(got, prev, tag: 7); }
        else { g.Recv(got, prev, tag: 7); g.Send(mine, next, tag: 7); }
        Check.Equal($"{tag} recv from {prev}", Seq(n, i => (prev + 1) * (i + 1)), got);
    }

    private static void AsyncOps(IProcessGroup g, string tag, long n, torch.ScalarType dt)
    {
        int size = g.Size, rank = g.Rank;
        double s = size * (size + 1) / 2.0;
        var gathered = torch.empty(size * n, dt);
        var gatherIn = OfRank(rank, n, dt);
        var rsIn = OfRank(rank, size * n, dt);
        var rsOut = torch.empty(n, dt);
        var ar = OfRank(rank, n, dt);
        var works = new[] { g.AllGatherAsync(gathered, gatherIn), g.ReduceScatterAsync(rsOut, rsIn, ReduceOp.Avg), g.AllReduceAsync(ar) };
        // A synchronous collective meanwhile runs on the other communicator.
        var sync = OfRank(rank, n, dt);
        g.AllReduce(sync, ReduceOp.Max);
        foreach (var w in works) w.Wait();
        Check.True($"{tag} async works completed", works.All(w => w.IsCompleted));
        Check.Equal($"{tag} all_gather async", Seq(size * n, j => (j / n + 1) * (j % n + 1)), gathered);
        Check.Equal($"{tag} reduce_scatter async avg", Seq(n, i => s / size * (rank * n + i + 1)), rsOut);
        Check.Equal($"{tag} all_reduce async", Seq(n, i => s * (i + 1)), ar);
        Check.Equal($"{tag} all_reduce max beside async", Seq(n, i => size * (i + 1)), sync);
    }

    private static void BadArguments(IProcessGroup g, string label, long n)
    {
        Check.Throws<ArgumentException>($"{label} all_gather wrong size", "all_gather: output has",
            () => g.AllGather(torch.empty(g.Size * n + 1), torch.empty(n)));
        Check.Throws<ArgumentException>($"{label} reduce_scatter dtype", "reduce_scatter: output is",
            () => g.ReduceScatter(torch.empty(n, torch.ScalarType.BFloat16), torch.empty(g.Size * n)));
        Check.Throws<ArgumentException>($"{label} all_reduce non-contiguous", "must be contiguous",
            () => g.AllReduce(torch.empty(4, 4).t()));
        Check.Throws<ArgumentException>($"{label} avg of ints", "avg needs a floating-point",
            () => g.AllReduce(torch.ones(3, torch.ScalarType.Int64), ReduceOp.Avg));
        Check.Throws<ArgumentOutOfRangeException>($"{label} broadcast bad root", "is not a rank",
            () => g.Broadcast(torch.empty(n), g.Size));
    }
}
