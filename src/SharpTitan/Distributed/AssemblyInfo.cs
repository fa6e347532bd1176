using System.Runtime.CompilerServices;

// The multi-rank test worker lowers MpiProcessGroup.MaxCountPerCall to force chunked transfers.
[assembly: InternalsVisibleTo("SharpTitan.MpiWorker")]
