using SharpTitan.Metrics;
using SharpTitan.Tests.Support;
using static TorchSharp.torch;

namespace SharpTitan.Tests.Metrics;

public class PeakFlopsTests
{
    [Fact]
    public void CacheKeepsTheBestRateSeen()
    {
        string path = Path.Combine(TestSetup.TempDir("peak"), "peak.json");
        Assert.Equal(1.0, PeakFlops.Record(path, 1.0));
        Assert.Equal(1.0, PeakFlops.Record(path, 0.5)); // a busy machine measuring low does not lower the peak
        Assert.Equal(2.0, PeakFlops.Record(path, 2.0));
    }

    [Fact]
    public void ConfiguredPeakWinsAndCachedPeakIsUsedWithoutMeasuring()
    {
        TestSetup.Torch();
        string dir = TestSetup.TempDir("peakcache");
        Assert.Equal(new Peak(3.5, "metrics.peak_tflops"), PeakFlops.Resolve(3.5, ScalarType.Float32, 1, dir));
        PeakFlops.Record(PeakFlops.CachePath(ScalarType.Float32, 1, dir), 123.0);
        var p = PeakFlops.Resolve(-1, ScalarType.Float32, 1, dir);
        Assert.Equal(123.0, p.TflopsPerSecond);
        Assert.Contains("cached", p.Source);
    }

    [Fact]
    public void MeasuredMatmulRateIsPlausible()
    {
        TestSetup.Torch();
        double tflops = PeakFlops.Measure(ScalarType.Float32, n: 256, seconds: 0.1);
        Assert.InRange(tflops, 1e-4, 100); // any CPU does 0.1 GFLOP/s; none does 100 TFLOP/s in fp32
    }
}
