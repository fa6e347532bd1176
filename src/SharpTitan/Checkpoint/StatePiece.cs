using static TorchSharp.torch;

namespace SharpTitan.Checkpoint;

/// <summary>
/// A run of elements this rank holds of one global tensor: elements [GlobalStart, GlobalStart + Count) of the
/// tensor <see cref="Name"/> (row-major, unpadded, full shape <see cref="GlobalShape"/>) live in the 1-D
/// <see cref="Buffer"/> at <see cref="BufferOffset"/>. Saving writes that slice; loading fills it.
/// </summary>
public sealed record StatePiece(string Name, long[] GlobalShape, Tensor Buffer, long BufferOffset, long GlobalStart, long Count)
{
    public long GlobalNumel => GlobalShape.Aggregate(1L, (a, b) => a * b);

    /// <summary>The slice of the buffer this piece covers (a view).</summary>
    public Tensor Slice() => Buffer.narrow(0, BufferOffset, Count);
}
