using System.Runtime.InteropServices;

namespace SharpTitan.Distributed.Nccl;

/// <summary>ncclUniqueId: 128 opaque bytes, passed by value to ncclCommInitRank (so a struct, not a pointer).</summary>
[StructLayout(LayoutKind.Sequential, Size = NcclLibrary.UniqueIdBytes)]
internal unsafe struct NcclUniqueId
{
    public fixed byte Bytes[NcclLibrary.UniqueIdBytes];
}
