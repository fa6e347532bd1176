using System.Runtime.InteropServices;
using System.Text.Json;
using SharpTitan.Float8;
using SharpTitan.Native;
using static TorchSharp.torch;

namespace SharpTitan.Benchmarks;

/// <summary>
/// Writes float8 test vectors made by SharpTitan's own code (quantized bytes, scales, emulated and libtorch-CPU
/// scaled matmuls) as raw little-endian files plus manifest.json, for benchmarks/gpu/check_float8.py to replay
/// with torch._scaled_mm on a GPU that has float8 units: the check that our casts and our emulation agree with
/// real float8 hardware.
/// </summary>
public static class Float8Vectors
{
    public static void Write(string dir)
    {
        Directory.CreateDirectory(dir);
        TorchRuntime.SetThreads(1);
        manual_seed(7);
        var manifest = new Dictionary<string, object>();
        foreach (var (m, k, n) in new[] { (256, 512, 384), (512, 1024, 768) })
        {
            using var scope = NewDisposeScope();
            string p = $"m{m}k{k}n{n}_";
            // Activations with a few outliers, as real ones have; weights at init scale.
            var x = randn(m, k).mul_(0.5f);
            x[3, 5] = tensor(40f);
            var w = randn(n, k).mul_(0.02f);
            var g = randn(m, n).mul_(1e-3f);
            Save(dir, manifest, p + "x", x);
            Save(dir, manifest, p + "w", w);
            Save(dir, manifest, p + "g", g);

            // tensorwise: e4m3 x and w, e5m2 gradient
            using var x8 = Float8Cast.Quantize(x, Float8Format.E4M3);
            using var w8 = Float8Cast.Quantize(w, Float8Format.E4M3);
            using var g8 = Float8Cast.Quantize(g, Float8Format.E5M2);
            SaveFloat8(dir, manifest, p + "tw_x8", x8);
            SaveFloat8(dir, manifest, p + "tw_w8", w8);
            SaveFloat8(dir, manifest, p + "tw_g8", g8);
            Save(dir, manifest, p + "tw_y_emulated", ScaledMatmul.Multiply(x8, w8.T(), ScalarType.Float32, Float8MatmulMode.Emulated));
            Save(dir, manifest, p + "tw_y_cpu_scaled_mm", ScaledMatmul.Multiply(x8, w8.T(), ScalarType.Float32, Float8MatmulMode.ScaledMm));

            // rowwise: one power-of-two scale per row of x and per output row of w (along K)
            using var xr = Float8Cast.Quantize(x, Float8Format.E4M3, dim: 1, powerOfTwo: true);
            using var wr = Float8Cast.Quantize(w, Float8Format.E4M3, dim: 1, powerOfTwo: true);
            SaveFloat8(dir, manifest, p + "rw_x8", xr);
            SaveFloat8(dir, manifest, p + "rw_w8", wr);
            Save(dir, manifest, p + "rw_y_emulated_bf16", ScaledMatmul.Multiply(xr, wr.T(), ScalarType.BFloat16, Float8MatmulMode.Emulated));
        }
        File.WriteAllText(Path.Combine(dir, "manifest.json"), JsonSerializer.Serialize(manifest, BenchConfig.IndentedJson));
        Console.WriteLine($"wrote {manifest.Count} tensors to {dir}");
    }

    private static void SaveFloat8(string dir, Dictionary<string, object> manifest, string name, Float8Tensor t)
    {
        Save(dir, manifest, name, t.Data, t.Format.Name);
        Save(dir, manifest, name + "_scale", t.Scale);
    }

    // bf16 is stored as fp32 (exact); float8 as its bytes, tagged with the format.
    private static void Save(string dir, Dictionary<string, object> manifest, string name, Tensor t, string? float8 = null)
    {
        using var scope = NewDisposeScope();
        var c = (float8 != null ? t : t.to(ScalarType.Float32)).contiguous();
        long bytes = c.numel() * c.ElementSize;
        var buffer = new byte[bytes];
        Marshal.Copy(TensorMemory.DataPointer(c), buffer, 0, (int)bytes);
        File.WriteAllBytes(Path.Combine(dir, name + ".bin"), buffer);
        manifest[name] = new { dtype = float8 ?? "f32", shape = c.shape };
    }
}
