using static TorchSharp.torch;

namespace SharpTitan.Distributed;

/// <summary>
/// A run of elements this rank holds of one global tensor <see cref="Name"/> (full shape <see cref="GlobalShape"/>):
/// elements [Start, Start + Count) of <see cref="Block"/> in row-major order (Block null: of the whole tensor; a
/// tensor-parallel slice otherwise), unpadded, living in the 1-D <see cref="Buffer"/> at <see cref="BufferOffset"/>.
/// Saving writes that slice; loading fills it.
/// </summary>
public sealed record StatePiece(string Name, long[] GlobalShape, Tensor Buffer, long BufferOffset, long Start, long Count, TensorBlock? Block = null)
{
    public long GlobalNumel => GlobalShape.Aggregate(1L, (a, b) => a * b);

    /// <summary>The slice of the buffer this piece covers (a view).</summary>
    public Tensor Slice() => Buffer.narrow(0, BufferOffset, Count);

    /// <summary>This piece's elements taken from the whole tensor (a new contiguous tensor).</summary>
    public Tensor Cut(Tensor full)
    {
        using var block = Block?.Of(full) ?? full.alias();
        return block.contiguous().view(-1).narrow(0, Start, Count).clone();
    }
}
