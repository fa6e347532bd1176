namespace SharpTitan.Float8;

/// <summary>
/// What libtorch's CPU _scaled_mm does on this machine: with oneDNN it runs a float8 matmul when the CPU has
/// AMX-INT8 (AMX-FP16 for mixed e4m3/e5m2 operands), otherwise it dequantizes both operands to float32 and
/// multiplies those (libtorch 2.10, aten/src/ATen/native/Blas.cpp).
/// </summary>
internal static class CpuFloat8
{
    public static bool HasAmxInt8 => Flags.Contains("amx_int8");

    public static string Describe() => HasAmxInt8
        ? "oneDNN float8 matmul: this CPU has AMX-INT8"
        : "this CPU has no AMX-INT8, so libtorch dequantizes to float32 and multiplies those";

    private static readonly Lazy<HashSet<string>> CpuFlags = new(() =>
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal));
            return line == null ? [] : [.. line[(line.IndexOf(':') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries)];
        }
        catch (IOException) { return []; }
    });

    private static HashSet<string> Flags => CpuFlags.Value;
}
