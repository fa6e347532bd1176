using SharpTitan.Float8;
using SharpTitan.Tests.Support;
using static TorchSharp.torch;

namespace SharpTitan.Tests.Float8;

/// <summary>Float8 quantization against hand-computed values: scales, saturation, rounding, rowwise scales.</summary>
public class Float8CastTests
{
    public Float8CastTests() => TestSetup.Torch();

    private static float[] Values(Tensor t) => t.to(ScalarType.Float32).data<float>().ToArray();

    private static float[] CastWithUnitScale(float[] values, Float8Format format)
    {
        using var scope = NewDisposeScope();
        using var q = Float8Cast.Quantize(tensor(values), tensor(1f), format);
        return Values(q.Data);
    }

    [Fact]
    public void TensorwiseScaleIsFormatMaxOverAmaxAndValuesRoundToTheFloat8Grid()
    {
        using var scope = NewDisposeScope();
        var x = tensor(new[] { -3f, 2f, 0.5f });
        using var q = Float8Cast.Quantize(x, Float8Format.E4M3);
        Assert.Equal((float)(448.0 / 3.0), q.Scale.item<float>());
        // x * scale = -448, 298.67, 74.67. e4m3 steps are 32 in [256, 448] and 8 in [64, 128]: 288 and 72.
        Assert.Equal(new[] { -448f, 288f, 72f }, Values(q.Data));
        var back = Values(Float8Cast.Dequantize(q, ScalarType.Float32));
        Assert.Equal(-3f, back[0], 6);
        Assert.Equal(288 / (448 / 3.0), back[1], 5);
        Assert.Equal(72 / (448 / 3.0), back[2], 5);
    }

    [Fact]
    public void ValuesBeyondTheFormatMaxSaturateInsteadOfBecomingNaN()
    {
        // libtorch's own cast turns 480 into NaN in e4m3fn (no infinities): the quantizer clamps first.
        Assert.Equal(new[] { 448f, -448f, 448f, 448f }, CastWithUnitScale([1000f, -1000f, 460f, 480f], Float8Format.E4M3));
        Assert.Equal(new[] { 57344f, -57344f }, CastWithUnitScale([60000f, -1e6f], Float8Format.E5M2));
    }

    [Fact]
    public void RoundingIsToNearestWithTiesToEven()
    {
        // e4m3 has 3 mantissa bits: between 1 and 2 the steps are 1/8. 1.0625 ties to 1 (even), 1.1875 to 1.25;
        // 1.07 is nearer 1.125. Subnormals step by 2^-9: 0.001 -> 2^-9, 0.0009 -> 0.
        Assert.Equal(new[] { 1f, 1.25f, 1.125f, 0.001953125f, 0f },
            CastWithUnitScale([1.0625f, 1.1875f, 1.07f, 0.001f, 0.0009f], Float8Format.E4M3));
        // e5m2 has 2 mantissa bits: steps of 1/4. 1.125 ties to 1, 1.375 to 1.5.
        Assert.Equal(new[] { 1f, 1.5f, 1.25f }, CastWithUnitScale([1.125f, 1.375f, 1.2f], Float8Format.E5M2));
    }

    [Fact]
    public void RowwiseScalesFollowEachRowsAmaxAndCanBePowersOfTwo()
    {
        using var scope = NewDisposeScope();
        var x = tensor(new[] { 1f, -4f, 0.5f, 0.25f }).reshape(2, 2);
        using var q = Float8Cast.Quantize(x, Float8Format.E4M3, dim: 1);
        Assert.Equal(new long[] { 2, 1 }, q.Scale.shape);
        Assert.Equal(new[] { 112f, 896f }, Values(q.Scale)); // 448 / 4, 448 / 0.5
        Assert.Equal(new[] { 112f, -448f, 448f, 224f }, Values(q.Data));
        using var p2 = Float8Cast.Quantize(x, Float8Format.E4M3, dim: 1, powerOfTwo: true);
        Assert.Equal(new[] { 64f, 512f }, Values(p2.Scale)); // rounded down: 112 -> 64, 896 -> 512
        using var columns = Float8Cast.Quantize(x, Float8Format.E4M3, dim: 0);
        Assert.Equal(new long[] { 1, 2 }, columns.Scale.shape);
        Assert.Equal(new[] { 448f, 112f }, Values(columns.Scale)); // 448 / 1, 448 / 4
    }

    [Fact]
    public void AnAllZeroTensorGetsAFiniteScaleAndStaysZero()
    {
        using var scope = NewDisposeScope();
        using var q = Float8Cast.Quantize(zeros(4), Float8Format.E4M3);
        Assert.Equal((float)(448 / Float8Cast.MinAmax), q.Scale.item<float>());
        Assert.All(Values(Float8Cast.Dequantize(q, ScalarType.Float32)), v => Assert.Equal(0f, v));
    }
}
