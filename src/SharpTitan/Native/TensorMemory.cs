using System.Runtime.InteropServices;
using TorchSharp;

namespace SharpTitan.Native;

/// <summary>Raw access to a tensor's memory, which TorchSharp does not expose publicly.</summary>
internal static partial class TensorMemory
{
    [LibraryImport("LibTorchSharp", EntryPoint = "THSTensor_data")]
    private static partial nint THSTensor_data(nint tensor);

    /// <summary>Address of the tensor's first element (storage offset included), like PyTorch's data_ptr().</summary>
    public static nint DataPointer(torch.Tensor tensor)
    {
        var p = THSTensor_data(tensor.Handle);
        if (p == 0 && tensor.numel() > 0) torch.CheckForErrors();
        return p;
    }
}
