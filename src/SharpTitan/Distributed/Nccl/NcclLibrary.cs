using System.Runtime.InteropServices;
using TorchSharp;

namespace SharpTitan.Distributed.Nccl;

/// <summary>
/// Our binding to NCCL (libnccl.so.2): the calls the process groups use, resolved at run time from, in order,
/// SHARPTITAN_NCCL_PATH, the OS search path (a system NCCL; LD_LIBRARY_PATH), and the nvidia-nccl package beside a
/// PyTorch install's torch/lib. Every call returns ncclResult_t (0 = success); <see cref="Check"/> turns others into a
/// one-line exception with NCCL's text.
/// </summary>
internal static unsafe class NcclLibrary
{
    public const int UniqueIdBytes = 128;
    private static readonly object Gate = new();
    private static nint _handle;
    private static string? _loadError;

    public static delegate* unmanaged<int*, int> GetVersion;
    public static delegate* unmanaged<NcclUniqueId*, int> GetUniqueId;
    public static delegate* unmanaged<nint*, int, NcclUniqueId, int, int> CommInitRank;
    public static delegate* unmanaged<nint, int> CommDestroy;
    public static delegate* unmanaged<nint, int> CommAbort;
    public static delegate* unmanaged<nint, int, int, nint*, nint, int> CommSplit;
    public static delegate* unmanaged<nint, int*, int> CommGetAsyncError;
    public static delegate* unmanaged<int, nint> GetErrorString;
    public static delegate* unmanaged<nint, nint, nuint, int, int, nint, nint, int> AllReduce;
    public static delegate* unmanaged<nint, nint, nuint, int, nint, nint, int> AllGather;
    public static delegate* unmanaged<nint, nint, nuint, int, int, nint, nint, int> ReduceScatter;
    public static delegate* unmanaged<nint, nint, nuint, int, int, nint, nint, int> Broadcast;
    public static delegate* unmanaged<nint, nuint, int, int, nint, nint, int> Send;
    public static delegate* unmanaged<nint, nuint, int, int, nint, nint, int> Recv;
    public static delegate* unmanaged<int> GroupStart;
    public static delegate* unmanaged<int> GroupEnd;

    /// <summary>Loads NCCL once; throws one line naming the paths tried when it cannot.</summary>
    public static void EnsureLoaded()
    {
        lock (Gate)
        {
            if (_handle != 0) return;
            if (_loadError != null) throw new InvalidOperationException(_loadError);
            var tried = new List<string>();
            foreach (var path in Candidates())
            {
                tried.Add(path);
                if (NativeLibrary.TryLoad(path, out _handle)) break;
            }
            if (_handle == 0)
            {
                _loadError = $"NCCL (libnccl.so.2) was not found; tried {string.Join(", ", tried)} (set SHARPTITAN_NCCL_PATH to the library)";
                throw new InvalidOperationException(_loadError);
            }
            Bind();
            int version;
            Check(GetVersion(&version), "ncclGetVersion");
            Version = version;
            // ncclCommSplit arrived in NCCL 2.18 (version code 21800).
            if (version < 21800)
            {
                _loadError = $"NCCL {VersionText} found at {tried[^1]}: SharpTitan needs 2.18 or newer (ncclCommSplit)";
                _handle = 0;
                throw new InvalidOperationException(_loadError);
            }
        }
    }

    /// <summary>NCCL's version code (major x 10000 + minor x 100 + patch).</summary>
    public static int Version { get; private set; }
    public static string VersionText => $"{Version / 10000}.{Version / 100 % 100}.{Version % 100}";

    private static IEnumerable<string> Candidates()
    {
        if (Environment.GetEnvironmentVariable("SHARPTITAN_NCCL_PATH") is { Length: > 0 } env) yield return env;
        yield return "libnccl.so.2";
        // PyTorch's wheels depend on nvidia-nccl: site-packages/nvidia/nccl/lib beside site-packages/torch/lib.
        foreach (var dir in (Environment.GetEnvironmentVariable("LD_LIBRARY_PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var sitePackages = Path.GetFullPath(Path.Combine(dir, "..", ".."));
            foreach (var sub in (string[])["nvidia/nccl/lib", "nvidia/cu13/lib", "nvidia/cu12/lib"])
            {
                var candidate = Path.Combine(sitePackages, sub, "libnccl.so.2");
                if (File.Exists(candidate)) yield return candidate;
            }
        }
    }

    private static void Bind()
    {
        nint F(string name) => NativeLibrary.GetExport(_handle, name);
        GetVersion = (delegate* unmanaged<int*, int>)F("ncclGetVersion");
        GetUniqueId = (delegate* unmanaged<NcclUniqueId*, int>)F("ncclGetUniqueId");
        CommInitRank = (delegate* unmanaged<nint*, int, NcclUniqueId, int, int>)F("ncclCommInitRank");
        CommDestroy = (delegate* unmanaged<nint, int>)F("ncclCommDestroy");
        CommAbort = (delegate* unmanaged<nint, int>)F("ncclCommAbort");
        CommSplit = (delegate* unmanaged<nint, int, int, nint*, nint, int>)F("ncclCommSplit");
        CommGetAsyncError = (delegate* unmanaged<nint, int*, int>)F("ncclCommGetAsyncError");
        GetErrorString = (delegate* unmanaged<int, nint>)F("ncclGetErrorString");
        AllReduce = (delegate* unmanaged<nint, nint, nuint, int, int, nint, nint, int>)F("ncclAllReduce");
        AllGather = (delegate* unmanaged<nint, nint, nuint, int, nint, nint, int>)F("ncclAllGather");
        ReduceScatter = (delegate* unmanaged<nint, nint, nuint, int, int, nint, nint, int>)F("ncclReduceScatter");
        Broadcast = (delegate* unmanaged<nint, nint, nuint, int, int, nint, nint, int>)F("ncclBroadcast");
        Send = (delegate* unmanaged<nint, nuint, int, int, nint, nint, int>)F("ncclSend");
        Recv = (delegate* unmanaged<nint, nuint, int, int, nint, nint, int>)F("ncclRecv");
        GroupStart = (delegate* unmanaged<int>)F("ncclGroupStart");
        GroupEnd = (delegate* unmanaged<int>)F("ncclGroupEnd");
    }

    public static void Check(int result, string call)
    {
        if (result != 0)
            throw new InvalidOperationException($"{call} failed: NCCL error {result} ({Marshal.PtrToStringUTF8(GetErrorString(result))})");
    }

    /// <summary>ncclDataType_t of a tensor dtype (float8 and bool travel as bytes).</summary>
    public static int DataType(torch.ScalarType dtype) => dtype switch
    {
        torch.ScalarType.Int8 => 0,
        // bytes: uint8, bool, and float8 e5m2 / e4m3fn (c10 ScalarType 23 / 24), which gathers and broadcasts move as bytes
        torch.ScalarType.Byte or torch.ScalarType.Bool or (torch.ScalarType)23 or (torch.ScalarType)24 => 1,
        torch.ScalarType.Int32 => 2,
        torch.ScalarType.Int64 => 4,
        torch.ScalarType.Float16 => 6,
        torch.ScalarType.Float32 => 7,
        torch.ScalarType.Float64 => 8,
        torch.ScalarType.BFloat16 => 9,
        _ => throw new ArgumentException($"NCCL collectives do not take {dtype} tensors"),
    };

    /// <summary>Whether NCCL can add this dtype (bytes that stand for float8 cannot be reduced).</summary>
    public static bool Reducible(torch.ScalarType dtype) => DataType(dtype) != 1 || dtype == torch.ScalarType.Byte;

    /// <summary>ncclRedOp_t (bf16 and fp16 are reduced natively by NCCL).</summary>
    public static int Op(ReduceOp op) => op switch
    {
        ReduceOp.Sum => 0,
        ReduceOp.Max => 2,
        ReduceOp.Min => 3,
        ReduceOp.Avg => 4,
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };
}
