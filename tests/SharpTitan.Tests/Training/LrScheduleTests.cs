using SharpTitan.Optim;
using SharpTitan.Training;

namespace SharpTitan.Tests.Training;

public class LrScheduleTests
{
    // Values follow torchtitan's linear_warmup_stable_decay for the 0-based step index.

    [Fact]
    public void WarmupThenLinearDecayWhenNoDecayRatio()
    {
        var s = new LrSchedule(trainingSteps: 10, warmupSteps: 2, decayRatio: null, decayType: "linear", minLrFactor: 0);
        // warmup: (i+1)/(w+1); one stable step; decay over steps - warmup = 8 steps.
        Assert.Equal(1 / 3.0, s.Factor(0), 12);
        Assert.Equal(2 / 3.0, s.Factor(1), 12);
        Assert.Equal(1.0, s.Factor(2), 12);
        Assert.Equal(1.0, s.Factor(3), 12);
        Assert.Equal(1 - 1 / 8.0, s.Factor(4), 12);
        Assert.Equal(1 - 6 / 8.0, s.Factor(9), 12);
    }

    [Fact]
    public void WarmupStableDecayWithRatio()
    {
        var s = new LrSchedule(100, 10, 0.2, "linear", 0);
        // decay steps 20, stable = 100 + 1 - 10 - 20 = 71: decay starts at index 81.
        Assert.Equal(1.0, s.Factor(80), 12);
        Assert.Equal(1.0, s.Factor(81), 12);
        Assert.Equal(1 - 5 / 20.0, s.Factor(86), 12);
    }

    [Theory]
    [InlineData("sqrt")]
    [InlineData("cosine")]
    public void DecayShapesAndMinLr(string type)
    {
        var s = new LrSchedule(20, 0, null, type, 0.1);
        // no warmup; stable = 1 step; decay over 20 steps from index 1.
        double p = (11 - 1) / 20.0;
        double adj = type == "sqrt" ? 1 - Math.Sqrt(p) : 0.5 * (1 + Math.Cos(Math.PI * p));
        Assert.Equal(0.1 + 0.9 * adj, s.Factor(11), 12);
        Assert.Equal(1.0, s.Factor(0), 12);
    }

    [Fact]
    public void WarmupLongerThanAllowedByDecayRatioIsShortened()
    {
        var s = new LrSchedule(10, 9, 0.5, "linear", 0);
        // decay 5 -> warmup cut to 5: warmup factors (i+1)/6.
        Assert.Equal(1 / 6.0, s.Factor(0), 12);
        Assert.Equal(5 / 6.0, s.Factor(4), 12);
    }
}
