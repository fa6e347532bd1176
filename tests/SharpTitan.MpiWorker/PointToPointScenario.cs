using SharpTitan.Distributed;
using SharpTitan.Distributed.Mpi;
using TorchSharp;

namespace SharpTitan.MpiWorker;

/// <summary>
/// Non-blocking send/receive (SendAsync / RecvAsync): every rank sends to both neighbours before receiving (a
/// pattern blocking sends of large messages deadlock on), two tags started in the opposite order to the one they
/// are waited in, messages of one tag arriving in order, chunked transfers, and bfloat16 moved as raw bytes; then a
/// batch (ExchangeAsync) that sends to both neighbours and this rank itself before receiving, a work per transfer.
/// </summary>
public static class PointToPointScenario
{
    public static int Run(IProcessGroup world, IReadOnlyDictionary<string, string> o)
    {
        bool chunked = o.ContainsKey("chunked");
        if (chunked) MpiProcessGroup.MaxCountPerCall = 5;
        try
        {
            Ring(world, chunked ? 23 : 1 << 20, torch.ScalarType.Float32);
            Ring(world, 37, torch.ScalarType.BFloat16);
            TagsAndOrder(world);
            Exchange(world, chunked ? 23 : 1 << 20);
            using (var rules = new NcclRulesProcessGroup(world.Split(0, world.Rank, "nccl_rules")))
            {
                Exchange(rules, 37);
                MatchedByOrder(rules);
            }
        }
        finally { MpiProcessGroup.MaxCountPerCall = int.MaxValue; }
        return 0;
    }

    private static torch.Tensor Values(int rank, long n, torch.ScalarType dt) =>
        (torch.arange(n, torch.ScalarType.Float32) % 97 + 1000 * rank).to(dt);

    private static void Ring(IProcessGroup g, long n, torch.ScalarType dt)
    {
        int size = g.Size, rank = g.Rank, next = (rank + 1) % size, prev = (rank + size - 1) % size;
        using var mine = Values(rank, n, dt);
        using var fromPrev = torch.empty(n, dt);
        using var fromNext = torch.empty(n, dt);
        // Both sends are started first: with non-blocking sends this cannot deadlock, whatever the size.
        var sends = new[] { g.SendAsync(mine, next, tag: 1), g.SendAsync(mine, prev, tag: 2) };
        var recvs = new[] { g.RecvAsync(fromPrev, prev, tag: 1), g.RecvAsync(fromNext, next, tag: 2) };
        foreach (var w in recvs.Concat(sends)) w.Wait();
        Check.True($"p2p {dt} works completed", sends.Concat(recvs).All(w => w.IsCompleted));
        using (var expected = Values(prev, n, dt)) Check.True($"p2p {dt} from {prev}", fromPrev.eq(expected).all().item<bool>());
        using (var expected = Values(next, n, dt)) Check.True($"p2p {dt} from {next}", fromNext.eq(expected).all().item<bool>());
    }

    private static void Exchange(IProcessGroup g, long n)
    {
        int size = g.Size, rank = g.Rank, next = (rank + 1) % size, prev = (rank + size - 1) % size;
        using var mine = Values(rank, n, torch.ScalarType.Float32);
        using var fromPrev = torch.empty(n);
        using var fromNext = torch.empty(n);
        using var fromSelf = torch.empty(n);
        var works = g.ExchangeAsync([PeerTransfer.Send(mine, next, 3), PeerTransfer.Send(mine, prev, 4), PeerTransfer.Send(mine, rank, 5),
            PeerTransfer.Receive(fromPrev, prev, 3), PeerTransfer.Receive(fromNext, next, 4), PeerTransfer.Receive(fromSelf, rank, 5)]);
        Check.True("exchange: a work per transfer", works.Count == 6);
        foreach (var w in works) w.Wait();
        using (var expected = Values(prev, n, torch.ScalarType.Float32)) Check.True($"exchange from {prev}", fromPrev.eq(expected).all().item<bool>());
        using (var expected = Values(next, n, torch.ScalarType.Float32)) Check.True($"exchange from {next}", fromNext.eq(expected).all().item<bool>());
        Check.True("exchange with itself", fromSelf.eq(mine).all().item<bool>());
    }

    /// <summary>Under NCCL's rules tags do not pick the message: received in another order than sent, the data swaps.</summary>
    private static void MatchedByOrder(NcclRulesProcessGroup g)
    {
        if (g.Size < 2 || g.Rank > 1) return;
        using var first = torch.full(4, 1f);
        using var second = torch.full(4, 2f);
        if (g.Rank == 0)
        {
            g.SendAsync(first, 1, tag: 5).Wait();
            g.SendAsync(second, 1, tag: 9).Wait();
        }
        else
        {
            using var got9 = torch.empty(4);
            using var got5 = torch.empty(4);
            g.RecvAsync(got9, 0, tag: 9).Wait();
            g.RecvAsync(got5, 0, tag: 5).Wait();
            Check.Equal("nccl rules: the first receive gets the first message, whatever its tag", [1, 1, 1, 1], got9);
            Check.Equal("nccl rules: the second receive gets the second message", [2, 2, 2, 2], got5);
        }
    }

    private static void TagsAndOrder(IProcessGroup g)
    {
        if (g.Size < 2) return;
        if (g.Rank == 0)
        {
            // Three messages on tag 5, then one on tag 9.
            var ts = Enumerable.Range(0, 3).Select(i => torch.full(4, 10 + i, torch.ScalarType.Float32)).ToList();
            using var other = torch.full(4, 99, torch.ScalarType.Float32);
            var works = ts.Select(t => g.SendAsync(t, 1, tag: 5)).Append(g.SendAsync(other, 1, tag: 9)).ToList();
            foreach (var w in works) w.Wait();
        }
        else if (g.Rank == 1)
        {
            // Tag 9 is received (and waited) first; tag 5 arrives in the order sent.
            using var other = torch.empty(4);
            g.RecvAsync(other, 0, tag: 9).Wait();
            Check.Equal("p2p tag 9 first", [99, 99, 99, 99], other);
            var got = Enumerable.Range(0, 3).Select(_ => torch.empty(4)).ToList();
            var works = got.Select(t => g.RecvAsync(t, 0, tag: 5)).ToList();
            while (!works[2].IsCompleted) Thread.Yield();
            foreach (var w in works) w.Wait();
            for (int i = 0; i < 3; i++) Check.Equal($"p2p tag 5 message {i}", [10 + i, 10 + i, 10 + i, 10 + i], got[i]);
        }
        Check.Throws<ArgumentOutOfRangeException>("p2p to a rank outside the group", "destination",
            () => g.SendAsync(torch.zeros(1), g.Size));
        g.Barrier();
    }
}
