using System.Runtime.InteropServices;
using System.Text;

namespace SharpTitan.Distributed.Mpi;

/// <summary>
/// Our own binding to the MPI C library, found at run time: `MPI_LIBRARY` (a path or name) when set, else
/// OpenMPI's `libmpi.so.40`, else MPICH's `libmpich.so.12`. The flavor is detected from exported symbols, and
/// every call checks its return code. Only the few functions SharpTitan needs are bound.
/// </summary>
internal sealed unsafe class MpiLibrary
{
    public const int Success = 0;

    private static readonly string[] DefaultNames = ["libmpi.so.40", "libmpi.so", "libmpich.so.12", "libmpich.so"];

    public string Path { get; }
    public MpiFlavor Flavor { get; }
    public MpiHandles Handles { get; }

    private readonly delegate* unmanaged<int*, int> _initialized;
    private readonly delegate* unmanaged<int*, int> _finalized;
    private readonly delegate* unmanaged<int*, byte***, int, int*, int> _initThread;
    private readonly delegate* unmanaged<int> _finalize;
    private readonly delegate* unmanaged<nint, int, int> _abort;
    private readonly delegate* unmanaged<int, byte*, int*, int> _errorString;
    private readonly delegate* unmanaged<byte*, int*, int> _libraryVersion;
    private readonly delegate* unmanaged<nint, int*, int> _commRank;
    private readonly delegate* unmanaged<nint, int*, int> _commSize;
    private readonly delegate* unmanaged<nint, int, int, nint*, int> _commSplit;
    private readonly delegate* unmanaged<nint, nint*, int> _commDup;
    private readonly delegate* unmanaged<nint*, int> _commFree;
    private readonly delegate* unmanaged<nint, int> _barrier;
    private readonly delegate* unmanaged<void*, void*, int, nint, nint, nint, int> _allreduce;
    private readonly delegate* unmanaged<void*, int, nint, void*, int, nint, nint, int> _allgather;
    private readonly delegate* unmanaged<void*, void*, int, nint, nint, nint, int> _reduceScatterBlock;
    private readonly delegate* unmanaged<void*, int, nint, int, nint, int> _bcast;
    private readonly delegate* unmanaged<void*, int, nint, int, int, nint, int> _send;
    private readonly delegate* unmanaged<void*, int, nint, int, int, nint, void*, int> _recv;
    private readonly delegate* unmanaged<void*, int, nint, int, int, nint, nint*, int> _isend;
    private readonly delegate* unmanaged<void*, int, nint, int, int, nint, nint*, int> _irecv;
    private readonly delegate* unmanaged<nint*, void*, int> _wait;
    private readonly delegate* unmanaged<nint*, int*, void*, int> _test;

    private MpiLibrary(string path, nint lib)
    {
        Path = path;
        nint Export(string name) =>
            NativeLibrary.TryGetExport(lib, name, out var p) ? p
                : throw new MpiException($"MPI library '{path}' lacks the symbol '{name}'");

        // OpenMPI exports its predefined objects; MPICH exports its internal MPIR_/MPII_ functions instead.
        if (NativeLibrary.TryGetExport(lib, "ompi_mpi_comm_world", out _))
        {
            Flavor = MpiFlavor.OpenMpi;
            Handles = MpiHandles.ForOpenMpi(Export);
        }
        else if (NativeLibrary.TryGetExport(lib, "MPII_Version_string", out _) ||
                 NativeLibrary.TryGetExport(lib, "MPIR_Err_create_code", out _))
        {
            Flavor = MpiFlavor.Mpich;
            Handles = MpiHandles.ForMpich();
        }
        else
        {
            throw new MpiException($"'{path}' is neither OpenMPI (no 'ompi_mpi_comm_world') nor MPICH (no 'MPIR_Err_create_code')");
        }

        _initialized = (delegate* unmanaged<int*, int>)Export("MPI_Initialized");
        _finalized = (delegate* unmanaged<int*, int>)Export("MPI_Finalized");
        _initThread = (delegate* unmanaged<int*, byte***, int, int*, int>)Export("MPI_Init_thread");
        _finalize = (delegate* unmanaged<int>)Export("MPI_Finalize");
        _abort = (delegate* unmanaged<nint, int, int>)Export("MPI_Abort");
        _errorString = (delegate* unmanaged<int, byte*, int*, int>)Export("MPI_Error_string");
        _libraryVersion = (delegate* unmanaged<byte*, int*, int>)Export("MPI_Get_library_version");
        _commRank = (delegate* unmanaged<nint, int*, int>)Export("MPI_Comm_rank");
        _commSize = (delegate* unmanaged<nint, int*, int>)Export("MPI_Comm_size");
        _commSplit = (delegate* unmanaged<nint, int, int, nint*, int>)Export("MPI_Comm_split");
        _commDup = (delegate* unmanaged<nint, nint*, int>)Export("MPI_Comm_dup");
        _commFree = (delegate* unmanaged<nint*, int>)Export("MPI_Comm_free");
        _barrier = (delegate* unmanaged<nint, int>)Export("MPI_Barrier");
        _allreduce = (delegate* unmanaged<void*, void*, int, nint, nint, nint, int>)Export("MPI_Allreduce");
        _allgather = (delegate* unmanaged<void*, int, nint, void*, int, nint, nint, int>)Export("MPI_Allgather");
        _reduceScatterBlock = (delegate* unmanaged<void*, void*, int, nint, nint, nint, int>)Export("MPI_Reduce_scatter_block");
        _bcast = (delegate* unmanaged<void*, int, nint, int, nint, int>)Export("MPI_Bcast");
        _send = (delegate* unmanaged<void*, int, nint, int, int, nint, int>)Export("MPI_Send");
        _recv = (delegate* unmanaged<void*, int, nint, int, int, nint, void*, int>)Export("MPI_Recv");
        _isend = (delegate* unmanaged<void*, int, nint, int, int, nint, nint*, int>)Export("MPI_Isend");
        _irecv = (delegate* unmanaged<void*, int, nint, int, int, nint, nint*, int>)Export("MPI_Irecv");
        _wait = (delegate* unmanaged<nint*, void*, int>)Export("MPI_Wait");
        _test = (delegate* unmanaged<nint*, int*, void*, int>)Export("MPI_Test");
    }

    /// <summary>Finds and loads the MPI library (see the class summary for the search order).</summary>
    public static MpiLibrary Load()
    {
        var overridePath = Environment.GetEnvironmentVariable("MPI_LIBRARY");
        if (!string.IsNullOrWhiteSpace(overridePath))
        {
            if (!NativeLoader.TryLoadGlobal(overridePath, out var lib, out var error))
                throw new MpiException($"MPI_LIBRARY='{overridePath}' could not be loaded: {error}");
            return new MpiLibrary(overridePath, lib);
        }
        foreach (var name in DefaultNames)
            if (NativeLoader.TryLoadGlobal(name, out var lib, out _))
                return new MpiLibrary(name, lib);
        throw new MpiException(
            $"no MPI library found (tried {string.Join(", ", DefaultNames)}); install OpenMPI " +
            "(apt-get install openmpi-bin libopenmpi-dev) or set MPI_LIBRARY to the library's path");
    }

    public bool IsInitialized { get { int flag; Check(_initialized(&flag), "MPI_Initialized"); return flag != 0; } }
    public bool IsFinalized { get { int flag; Check(_finalized(&flag), "MPI_Finalized"); return flag != 0; } }

    /// <summary>MPI_Init_thread asking for MPI_THREAD_MULTIPLE; returns the level provided.</summary>
    public int InitThreadMultiple()
    {
        int provided;
        Check(_initThread(null, null, Handles.ThreadMultiple, &provided), "MPI_Init_thread");
        return provided;
    }

    public void FinalizeMpi() => Check(_finalize(), "MPI_Finalize");

    /// <summary>MPI_Abort: ends every process of the communicator's job; does not return.</summary>
    public void Abort(nint comm, int errorCode) => _abort(comm, errorCode);

    public string LibraryVersion()
    {
        var buffer = stackalloc byte[8192];
        int length;
        Check(_libraryVersion(buffer, &length), "MPI_Get_library_version");
        return Encoding.ASCII.GetString(buffer, length).Trim('\0', ' ', '\n');
    }

    public int CommRank(nint comm) { int v; Check(_commRank(comm, &v), "MPI_Comm_rank"); return v; }
    public int CommSize(nint comm) { int v; Check(_commSize(comm, &v), "MPI_Comm_size"); return v; }

    public nint CommSplit(nint comm, int color, int key)
    {
        nint result = 0; // MPICH writes 4 bytes, OpenMPI 8: starting from zero makes both read back right
        Check(_commSplit(comm, color, key, &result), "MPI_Comm_split");
        return result;
    }

    public nint CommDup(nint comm)
    {
        nint result = 0;
        Check(_commDup(comm, &result), "MPI_Comm_dup");
        return result;
    }

    public void CommFree(nint comm) => Check(_commFree(&comm), "MPI_Comm_free");

    public void Barrier(nint comm) => Check(_barrier(comm), "MPI_Barrier");

    public void Allreduce(void* send, void* recv, int count, nint type, nint op, nint comm) =>
        Check(_allreduce(send, recv, count, type, op, comm), "MPI_Allreduce");

    public void Allgather(void* send, int sendCount, void* recv, int recvCount, nint type, nint comm) =>
        Check(_allgather(send, sendCount, type, recv, recvCount, type, comm), "MPI_Allgather");

    public void ReduceScatterBlock(void* send, void* recv, int recvCount, nint type, nint op, nint comm) =>
        Check(_reduceScatterBlock(send, recv, recvCount, type, op, comm), "MPI_Reduce_scatter_block");

    public void Bcast(void* buffer, int count, nint type, int root, nint comm) =>
        Check(_bcast(buffer, count, type, root, comm), "MPI_Bcast");

    public void Send(void* buffer, int count, nint type, int dest, int tag, nint comm) =>
        Check(_send(buffer, count, type, dest, tag, comm), "MPI_Send");

    public void Recv(void* buffer, int count, nint type, int source, int tag, nint comm)
    {
        // MPI_STATUS_IGNORE differs (0 in OpenMPI, 1 in MPICH); a scratch status larger than both is simpler.
        var status = stackalloc byte[64];
        Check(_recv(buffer, count, type, source, tag, comm, status), "MPI_Recv");
    }

    // MPI_Request is a pointer in OpenMPI and an int in MPICH: a zeroed nint holds either (as for CommSplit).

    public nint Isend(void* buffer, int count, nint type, int dest, int tag, nint comm)
    {
        nint request = 0;
        Check(_isend(buffer, count, type, dest, tag, comm, &request), "MPI_Isend");
        return request;
    }

    public nint Irecv(void* buffer, int count, nint type, int source, int tag, nint comm)
    {
        nint request = 0;
        Check(_irecv(buffer, count, type, source, tag, comm, &request), "MPI_Irecv");
        return request;
    }

    /// <summary>MPI_Wait: blocks until the request completed; MPI frees it (the handle becomes MPI_REQUEST_NULL).</summary>
    public void Wait(ref nint request)
    {
        var status = stackalloc byte[64];
        nint r = request;
        Check(_wait(&r, status), "MPI_Wait");
        request = r;
    }

    /// <summary>MPI_Test: true when the request completed (MPI frees it then).</summary>
    public bool Test(ref nint request)
    {
        var status = stackalloc byte[64];
        nint r = request;
        int flag;
        Check(_test(&r, &flag, status), "MPI_Test");
        request = r;
        return flag != 0;
    }

    private void Check(int rc, string function)
    {
        if (rc == Success) return;
        throw new MpiException($"{function} failed with error {rc}: {ErrorString(rc)}");
    }

    private string ErrorString(int rc)
    {
        var buffer = stackalloc byte[1024];
        int length = 0;
        return _errorString(rc, buffer, &length) == Success ? Encoding.ASCII.GetString(buffer, length) : "unknown error";
    }
}
