using SharpTitan.Checkpoint;
using SharpTitan.Distributed;
using SharpTitan.Tests.Support;
using static TorchSharp.torch;

namespace SharpTitan.Tests.Checkpoint;

/// <summary>
/// The checkpoint format on its own, in process: pieces named as flat ranges of tensor blocks (how TP and FSDP x TP
/// ranks describe what they hold) are written in one layout and read back exactly in another.
/// </summary>
public class CheckpointLayoutTests
{
    public CheckpointLayoutTests() => TestSetup.Torch();

    [Fact]
    public void BlockRangesBecomeRunsOfTheGlobalTensor()
    {
        // Columns 3..5 of a [4, 6] tensor (a row-wise TP block): its elements 2..7 are rows 0-2 of that block.
        var block = new TensorBlock([0, 3], [4, 3]);
        Assert.Equal([(5L, 2L, 1L), (9L, 3L, 3L), (15L, 6L, 2L)], TensorBlock.Runs([4, 6], block, 2, 6).ToList());
        // Rows 1..2 (a column-wise block) are one run; so is a range of the whole tensor.
        Assert.Equal([(7L, 1L, 10L)], TensorBlock.Runs([4, 6], new TensorBlock([1, 0], [2, 6]), 1, 10).ToList());
        Assert.Equal([(3L, 3L, 4L)], TensorBlock.Runs([4, 6], null, 3, 4).ToList());
    }

    [Fact]
    public void ColumnBlocksSplitIntoFlatShardsLoadIntoRowBlocksAndWhole()
    {
        using var scope = NewDisposeScope();
        var root = TestSetup.TempDir("ckpt-layout");
        var w = arange(5 * 7, ScalarType.Float32).reshape(5, 7);
        var norm = arange(100, 107, ScalarType.Float32);
        var world = new SingleProcessGroup();

        // Saved: w as two uneven column blocks (4 + 3 columns), each cut into two flat ranges at odd places;
        // the norm whole.
        var saved = new List<(StatePiece, Tensor)>();
        foreach (var (col, cols, cut) in new[] { (0L, 4L, 7L), (4L, 3L, 11L) })
        {
            var b = new TensorBlock([0, col], [5, cols]);
            var local = b.Of(w).contiguous().view(-1);
            saved.Add((new StatePiece("model.w", [5, 7], local, 0, 0, cut, b), local.narrow(0, 0, cut)));
            saved.Add((new StatePiece("model.w", [5, 7], local, cut, cut, b.Numel - cut, b), local.narrow(0, cut, b.Numel - cut).contiguous()));
        }
        saved.Add((TrainingState.Whole("model.norm", norm), norm));
        var writer = new CheckpointWriter(root, world, 0);
        var folder = writer.Save(new SaveInfo(3, false, 3, null, ""), saved)!;

        // Loaded: w as row blocks 0..2 and 3..4 (the second from element 2 on, as an FSDP shard of it) and whole.
        var rows = new TensorBlock([0, 0], [3, 7]);
        var rest = new TensorBlock([3, 0], [2, 7]);
        var top = zeros(rows.Numel);
        var bottom = zeros(rest.Numel - 2);
        var whole = zeros(5, 7);
        var normBack = zeros(7);
        var targets = new List<StatePiece>
        {
            new("model.w", [5, 7], top, 0, 0, rows.Numel, rows),
            new("model.w", [5, 7], bottom, 0, 2, rest.Numel - 2, rest),
            TrainingState.Whole("model.norm", normBack),
        };
        var expected = new Dictionary<string, long[]> { ["model.w"] = [5, 7], ["model.norm"] = [7] };
        CheckpointReader.Load(folder, expected, ["model."], targets, world);
        Assert.Equal(w.narrow(0, 0, 3).reshape(-1).data<float>().ToArray(), top.data<float>().ToArray());
        Assert.Equal(w.narrow(0, 3, 2).reshape(-1).narrow(0, 2, 12).data<float>().ToArray(), bottom.data<float>().ToArray());
        Assert.Equal(norm.data<float>().ToArray(), normBack.data<float>().ToArray());
        CheckpointReader.Load(folder, expected, ["model."], [TrainingState.Whole("model.w", whole)], world);
        Assert.Equal(w.data<float>().ToArray(), whole.data<float>().ToArray());
    }

    [Fact]
    public void OverlappingBlocksAreRejected()
    {
        using var scope = NewDisposeScope();
        var root = TestSetup.TempDir("ckpt-overlap");
        var w = arange(12, ScalarType.Float32);
        var b = new TensorBlock([0, 1], [3, 3]); // columns 1..3 of [3, 4]; column 0 never written, column 1 twice
        var local = b.Of(w.reshape(3, 4)).contiguous().view(-1);
        var writer = new CheckpointWriter(root, new SingleProcessGroup(), 0);
        var e = Assert.Throws<InvalidDataException>(() => writer.Save(new SaveInfo(1, false, 1, null, ""),
            [(new StatePiece("model.w", [3, 4], local, 0, 0, 9, b), local), (new StatePiece("model.w", [3, 4], local, 0, 0, 3, new TensorBlock([0, 1], [3, 1])), local.narrow(0, 0, 3))]));
        Assert.Contains("model.w", e.Message);
    }
}
