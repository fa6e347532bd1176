using System.Diagnostics;
using SharpTitan.Distributed;
using SharpTitan.Distributed.Mpi;
using TorchSharp;

namespace SharpTitan.MpiWorker;

/// <summary>The named scenarios the tests run under mpirun. Each returns the process exit code.</summary>
public static class Scenarios
{
    public static readonly string[] Names = ["hello", "collectives", "subgroups", "mesh", "chunked", "throw-at-step", "hang", "exit-code", "bench", "checkpoint-stall", "p2p", "staged"];

    public static int Run(string name, IProcessGroup world, IReadOnlyDictionary<string, string> o) => name switch
    {
        "hello" => Hello(world),
        "collectives" => Collectives(world),
        "subgroups" => Subgroups(world),
        "mesh" => Mesh(world, o),
        "chunked" => Chunked(world),
        "throw-at-step" => ThrowAtStep(world, Int(o, "rank", 1), Int(o, "step", 3)),
        "hang" => Hang(world, Int(o, "rank", 1), Double(o, "timeout", 2)),
        "exit-code" => ExitCode(world, Int(o, "rank", 1), Int(o, "code", 3)),
        "checkpoint-stall" => CheckpointStallScenario.Run(world, o),
        "p2p" => PointToPointScenario.Run(world, o),
        "staged" => Staged(world),
        "bench" => Bench(world, Int(o, "mib", 16), Int(o, "iters", 10), o.GetValueOrDefault("ops", "ar,ag,rs")),
        _ => throw new ArgumentException($"unknown scenario '{name}' (known: {string.Join(", ", Names)})"),
    };

    private static int Hello(IProcessGroup world)
    {
        Console.WriteLine($"hello from rank {world.Rank} of {world.Size} ({world.Backend})");
        world.Barrier();
        return 0;
    }

    private static int Collectives(IProcessGroup world)
    {
        NullReference(world);
        CollectiveSuite.Run(world, "world");
        return 0;
    }

    /// <summary>
    /// The host-staging group (ranks sharing a GPU) over the MPI world, made to stage host tensors too: every
    /// collective, async call and point-to-point transfer through copies, on the world and on split groups.
    /// </summary>
    private static int Staged(IProcessGroup world)
    {
        using var staged = new HostStagedProcessGroup(world, world.Device, stageHostTensors: true);
        CollectiveSuite.Run(staged, "staged");
        PointToPointScenario.Run(staged, new Dictionary<string, string>());
        using (var pair = staged.Split(world.Rank / 2, world.Rank, "pair"))
            CollectiveSuite.Run(pair, "staged pair");
        return 0;
    }

    /// <summary>Collectives on groups made by Split: even/odd ranks (ordered backwards) and rank pairs.</summary>
    private static int Subgroups(IProcessGroup world)
    {
        using (var parity = world.Split(world.Rank % 2, -world.Rank, "parity"))
        {
            int members = (world.Size - world.Rank % 2 + 1) / 2;
            Check.True($"parity group size {parity.Size} != {members}", parity.Size == members);
            // key = -rank: the highest world rank of each parity is group rank 0.
            Check.True($"parity group rank {parity.Rank}", parity.Rank == (members - 1) - world.Rank / 2);
            CollectiveSuite.Run(parity, "parity");
            // A world collective between two subgroup ones still matches up.
            using var t = torch.full(1, world.Rank, torch.ScalarType.Float32);
            world.AllReduce(t);
            Check.Equal("world sum between subgroup ops", [world.Size * (world.Size - 1) / 2.0], t);
        }
        using (var pair = world.Split(world.Rank / 2, world.Rank, "pair"))
            CollectiveSuite.Run(pair, "pair");
        return 0;
    }

    /// <summary>
    /// Every way to factor the world into [pp, dp_replicate, dp_shard, cp, tp] (or the one given as options):
    /// each mesh group's members, found by gathering world ranks over the group, match ParallelDims' arithmetic.
    /// </summary>
    private static int Mesh(IProcessGroup world, IReadOnlyDictionary<string, string> o)
    {
        var all = o.Count > 0
            ? [new ParallelDims(Int(o, "dp_replicate", 1), Int(o, "dp_shard", -1), Int(o, "cp", 1), Int(o, "tp", 1), Int(o, "pp", 1), world.Size)]
            : Factorizations(world.Size).Select(f => new ParallelDims(f[1], f[2], f[3], f[4], f[0], world.Size)).ToList();
        foreach (var dims in all) CheckMesh(world, dims);
        if (world.Rank == 0) Console.WriteLine($"checked {all.Count} meshes of {world.Size} ranks");
        return 0;
    }

    /// <summary>The group's members, gathered as world ranks, are the ones ParallelDims predicts.</summary>
    private static void CheckMembers(IProcessGroup world, ParallelDims dims, string name, string[] groupDims, IProcessGroup g)
    {
        var expected = dims.GroupRanks(world.Rank, groupDims);
        var ranks = torch.empty(g.Size, torch.ScalarType.Int64);
        g.AllGather(ranks, torch.full(1, world.Rank, torch.ScalarType.Int64));
        Check.Equal($"mesh {dims} group {name} members", expected.Select(r => (double)r).ToArray(), ranks);
    }

    private static void CheckMesh(IProcessGroup world, ParallelDims dims)
    {
        using var scope = torch.NewDisposeScope();
        using var mesh = new DeviceMesh(dims, world);
        foreach (var (name, groupDims) in DeviceMesh.GroupDims) CheckMembers(world, dims, name, groupDims, mesh[name]);
        Check.True($"mesh {dims}: dp rank {mesh.DpRank} != {dims.DpRank(world.Rank)}", mesh.DpRank == dims.DpRank(world.Rank));
        Check.True($"mesh {dims}: dp degree {mesh.DpDegree} != {dims.DpDegree}", mesh.DpDegree == dims.DpDegree);
    }

    /// <summary>All 5-tuples of positive degrees whose product is n.</summary>
    private static List<int[]> Factorizations(int n, int dims = 5)
    {
        if (dims == 1) return [[n]];
        var result = new List<int[]>();
        for (int d = 1; d <= n; d++)
            if (n % d == 0)
                foreach (var rest in Factorizations(n / d, dims - 1)) result.Add([d, .. rest]);
        return result;
    }

    /// <summary>Every op with the per-call count forced tiny, so buffers go out in many uneven chunks.</summary>
    private static int Chunked(IProcessGroup world)
    {
        MpiProcessGroup.MaxCountPerCall = 3;
        try { CollectiveSuite.Run(world, "chunked", n: 11); }
        finally { MpiProcessGroup.MaxCountPerCall = int.MaxValue; }
        return 0;
    }

    private static int ThrowAtStep(IProcessGroup world, int failingRank, int failingStep)
    {
        for (int step = 1; step <= 100; step++)
        {
            if (world.Rank == failingRank && step == failingStep)
                throw new InvalidOperationException($"injected failure at step {step}");
            using var t = torch.ones(4);
            world.AllReduce(t);
            Thread.Sleep(20);
        }
        return 0;
    }

    private static int Hang(IProcessGroup world, int sleepingRank, double timeoutSeconds)
    {
        var watchdog = DistributedRuntime.Watchdog ?? throw new InvalidOperationException("hang needs the MPI backend");
        watchdog.TrainTimeout = TimeSpan.FromSeconds(timeoutSeconds);
        watchdog.BeginTraining();
        for (int step = 1; step <= 5; step++)
        {
            if (world.Rank == sleepingRank && step == 2) Thread.Sleep(TimeSpan.FromSeconds(120));
            using var t = torch.ones(4);
            world.AllReduce(t);
        }
        return 0;
    }

    /// <summary>One rank leaves with an error code (no exception): the others must not wait forever.</summary>
    private static int ExitCode(IProcessGroup world, int exitingRank, int code)
    {
        world.Barrier();
        if (world.Rank == exitingRank) return code;
        using var t = torch.ones(4);
        world.AllReduce(t); // never completes: the exiting rank aborts the job
        return 0;
    }

    /// <summary>.NET turns SIGSEGV into NullReferenceException; MPI must not have taken over that signal.</summary>
    private static void NullReference(IProcessGroup world)
    {
        string? nothing = world.Rank >= 0 ? null : "x";
        try
        {
            _ = nothing!.Length;
            throw new CheckFailedException("no NullReferenceException");
        }
        catch (NullReferenceException) { Check.True("null reference caught", true); }
    }

    /// <summary>Bandwidth of all_reduce, all_gather, reduce_scatter (fp32) on buffers of the given size.</summary>
    private static int Bench(IProcessGroup world, int mib, int iters, string ops)
    {
        long n = mib * (1L << 20) / 4;
        using var buf = torch.ones(n);
        using var shard = torch.ones(n / world.Size);
        void Time(string name, Action op)
        {
            op();
            world.Barrier();
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < iters; i++) op();
            world.Barrier();
            var s = sw.Elapsed.TotalSeconds / iters;
            if (world.Rank == 0)
                Console.WriteLine($"{name,-15} {mib,4} MiB  {s * 1e3,8:0.00} ms  {mib / 1024.0 / s,6:0.00} GiB/s (buffer size / time)");
        }
        foreach (var op in ops.Split(','))
        {
            if (op == "ar") Time("all_reduce", () => world.AllReduce(buf));
            if (op == "ag") Time("all_gather", () => world.AllGather(buf, shard));
            if (op == "rs") Time("reduce_scatter", () => world.ReduceScatter(shard, buf));
        }
        return 0;
    }

    private static int Int(IReadOnlyDictionary<string, string> o, string key, int fallback) =>
        o.TryGetValue(key, out var v) ? int.Parse(v) : fallback;

    private static double Double(IReadOnlyDictionary<string, string> o, string key, double fallback) =>
        o.TryGetValue(key, out var v) ? double.Parse(v, System.Globalization.CultureInfo.InvariantCulture) : fallback;
}
