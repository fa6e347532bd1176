namespace SharpTitan.Distributed.Mpi;

/// <summary>
/// The process's MPI state: the library, the world, the watchdog and the communication thread. Created once by
/// <see cref="DistributedRuntime"/>; shared by every <see cref="MpiProcessGroup"/>.
/// </summary>
internal sealed class MpiRuntime : IDisposable
{
    public MpiLibrary Library { get; }
    public int WorldRank { get; }
    public int WorldSize { get; }
    public CollectiveWatchdog Watchdog { get; }
    public CommunicationThread CommThread { get; }
    private int _finished;

    public MpiRuntime(MpiLibrary library)
    {
        Library = library;
        if (!library.IsInitialized)
        {
            var provided = library.InitThreadMultiple();
            if (provided < library.Handles.ThreadMultiple)
                throw new MpiException($"MPI provides thread level {provided}, but SharpTitan needs MPI_THREAD_MULTIPLE (3)");
        }
        WorldRank = library.CommRank(library.Handles.CommWorld);
        WorldSize = library.CommSize(library.Handles.CommWorld);
        Watchdog = new CollectiveWatchdog(WorldRank, message => Abort(message, DistributedRuntime.TimeoutExitCode));
        CommThread = new CommunicationThread();
    }

    /// <summary>Prints the message on this rank's stderr and ends every rank of the job. Does not return.</summary>
    public void Abort(string message, int exitCode)
    {
        try
        {
            Console.Out.Flush();
            Console.Error.WriteLine(message);
            Console.Error.Flush();
        }
        catch (Exception) { /* best effort: the abort below matters more */ }
        Library.Abort(Library.Handles.CommWorld, exitCode);
        Environment.Exit(exitCode); // MPI_Abort should not return; make sure this process ends anyway
    }

    /// <summary>Stops the helper threads and calls MPI_Finalize (once).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _finished, 1) != 0) return;
        CommThread.Dispose();
        Watchdog.Dispose();
        if (!Library.IsFinalized) Library.FinalizeMpi();
    }
}
