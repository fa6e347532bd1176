namespace SharpTitan.Distributed.Mpi;

/// <summary>
/// The predefined MPI handles (communicators, datatypes, reduction ops, MPI_IN_PLACE) of one implementation,
/// as pointer-sized values. OpenMPI's handles are the addresses of exported globals (`ompi_mpi_comm_world`...);
/// MPICH's are 32-bit integer constants from its mpi.h. Callers pass them to <see cref="MpiLibrary"/> unchanged.
/// </summary>
/// <remarks>
/// MPICH declares MPI_Comm, MPI_Datatype and MPI_Op as <c>int</c>; the binding passes them as pointer-sized
/// integers. On the 64-bit System V and AAPCS64 ABIs an int argument occupies a full register or 8-byte stack
/// slot and the callee reads its low 32 bits, so a zero-extended constant arrives intact.
/// </remarks>
internal sealed class MpiHandles
{
    public required nint CommWorld { get; init; }
    public required nint CommNull { get; init; }
    public required nint Byte { get; init; }
    public required nint Int16 { get; init; }
    public required nint Int32 { get; init; }
    public required nint Int64 { get; init; }
    public required nint Float { get; init; }
    public required nint Double { get; init; }
    public required nint OpSum { get; init; }
    public required nint OpMax { get; init; }
    public required nint OpMin { get; init; }
    public required nint InPlace { get; init; }
    /// <summary>MPI_THREAD_MULTIPLE's value (3 in both implementations).</summary>
    public int ThreadMultiple { get; init; } = 3;

    /// <summary>OpenMPI: each handle is the address of an exported global object.</summary>
    internal static MpiHandles ForOpenMpi(Func<string, nint> export) => new()
    {
        CommWorld = export("ompi_mpi_comm_world"),
        CommNull = export("ompi_mpi_comm_null"),
        Byte = export("ompi_mpi_byte"),
        Int16 = export("ompi_mpi_short"),
        Int32 = export("ompi_mpi_int"),
        Int64 = export("ompi_mpi_long_long_int"),
        Float = export("ompi_mpi_float"),
        Double = export("ompi_mpi_double"),
        OpSum = export("ompi_mpi_op_sum"),
        OpMax = export("ompi_mpi_op_max"),
        OpMin = export("ompi_mpi_op_min"),
        InPlace = 1,
    };

    /// <summary>MPICH: the constants of its mpi.h (stable across MPICH 3.x/4.x and its ABI-compatible family).</summary>
    internal static MpiHandles ForMpich() => new()
    {
        CommWorld = 0x44000000,
        CommNull = 0x04000000,
        Byte = 0x4c00010d,
        Int16 = 0x4c000203,
        Int32 = 0x4c000405,
        Int64 = 0x4c000809,
        Float = 0x4c00040a,
        Double = 0x4c00080b,
        OpMax = 0x58000001,
        OpMin = 0x58000002,
        OpSum = 0x58000003,
        InPlace = -1,
    };
}
