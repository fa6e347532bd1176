using TorchSharp;

namespace SharpTitan.MpiWorker;

/// <summary>Inputs whose collective results have closed forms: rank r holds (r+1)·(i+1) at index i.</summary>
public static class Values
{
    public static torch.Tensor OfRank(int rank, long n, torch.ScalarType dtype) =>
        torch.arange(1, n + 1, dtype: torch.ScalarType.Float64).mul_(rank + 1).to(dtype);

    public static double[] Seq(long n, Func<long, double> f) => Enumerable.Range(0, (int)n).Select(i => f(i)).ToArray();
}
