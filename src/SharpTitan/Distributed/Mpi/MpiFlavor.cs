namespace SharpTitan.Distributed.Mpi;

/// <summary>The MPI implementations whose ABI the binding knows.</summary>
internal enum MpiFlavor
{
    /// <summary>OpenMPI (`libmpi.so.40`): handles are addresses of exported globals.</summary>
    OpenMpi,
    /// <summary>MPICH and its ABI family (`libmpich.so.12`): handles are 32-bit integer constants.</summary>
    Mpich,
}
