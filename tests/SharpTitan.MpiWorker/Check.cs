using TorchSharp;

namespace SharpTitan.MpiWorker;

/// <summary>A result differs from the value computed by hand.</summary>
public sealed class CheckFailedException(string message) : Exception(message);

/// <summary>Compares tensors with expected values; a mismatch throws, which aborts the whole job with the message.</summary>
public static class Check
{
    public static int Count { get; private set; }

    public static void Equal(string what, double[] expected, torch.Tensor actual, double tolerance = 0)
    {
        Count++;
        using var flat = actual.to(torch.ScalarType.Float64).view(-1);
        var got = flat.data<double>().ToArray();
        if (got.Length != expected.Length)
            throw new CheckFailedException($"{what}: expected {expected.Length} values, got {got.Length}");
        for (int i = 0; i < got.Length; i++)
            if (Math.Abs(got[i] - expected[i]) > tolerance)
                throw new CheckFailedException(
                    $"{what}: element {i} is {got[i]}, expected {expected[i]} (got [{Preview(got)}], expected [{Preview(expected)}])");
    }

    public static void Throws<T>(string what, string messagePart, Action action) where T : Exception
    {
        Count++;
        try { action(); }
        catch (T e) when (e.Message.Contains(messagePart)) { return; }
        catch (Exception e) { throw new CheckFailedException($"{what}: expected {typeof(T).Name} with '{messagePart}', got {e.GetType().Name}: {e.Message}"); }
        throw new CheckFailedException($"{what}: expected {typeof(T).Name} with '{messagePart}', nothing was thrown");
    }

    public static void True(string what, bool condition)
    {
        Count++;
        if (!condition) throw new CheckFailedException(what);
    }

    private static string Preview(double[] v) => string.Join(", ", v.Take(12)) + (v.Length > 12 ? ", ..." : "");
}
