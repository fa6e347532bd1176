namespace SharpTitan.Distributed.Mpi;

/// <summary>An MPI call failed, or the MPI library could not be found or used.</summary>
public sealed class MpiException(string message) : Exception(message);
