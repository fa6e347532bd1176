using SharpTitan.Metrics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SharpTitan.Native;
using static TorchSharp.torch;

namespace SharpTitan.Checkpoint.HuggingFace;

/// <summary>
/// The safetensors format: an 8-byte little-endian header length, a JSON header
/// {"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {...}} (offsets from
/// the end of the header), then the raw little-endian tensor bytes.
/// </summary>
internal static class Safetensors
{
    private static string Code(ScalarType t) => t switch
    {
        ScalarType.Float32 => "F32", ScalarType.BFloat16 => "BF16", ScalarType.Float16 => "F16",
        ScalarType.Float64 => "F64", ScalarType.Int64 => "I64", ScalarType.Int32 => "I32", ScalarType.Byte => "U8",
        _ => throw new NotSupportedException($"dtype {t} in safetensors"),
    };

    private static ScalarType Parse(string code, string path) => code switch
    {
        "F32" => ScalarType.Float32, "BF16" => ScalarType.BFloat16, "F16" => ScalarType.Float16,
        "F64" => ScalarType.Float64, "I64" => ScalarType.Int64, "I32" => ScalarType.Int32, "U8" => ScalarType.Byte,
        _ => throw new InvalidDataException($"{path}: unsupported safetensors dtype {code}"),
    };

    /// <summary>Writes tensors (CPU) in the given order.</summary>
    public static unsafe void Write(string path, IReadOnlyList<(string Name, Tensor Value)> tensors, IReadOnlyDictionary<string, string>? metadata = null,
        ProgressBar? progress = null)
    {
        var header = new JsonObject();
        if (metadata != null) header["__metadata__"] = new JsonObject(metadata.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value)));
        long offset = 0;
        var contiguous = new List<Tensor>();
        try
        {
            foreach (var (name, value) in tensors)
            {
                var c = value.contiguous();
                contiguous.Add(c);
                long bytes = c.numel() * Dtypes.Size(c.dtype);
                header[name] = new JsonObject
                {
                    ["dtype"] = Code(c.dtype),
                    ["shape"] = new JsonArray(c.shape.Select(s => (JsonNode?)s).ToArray()),
                    ["data_offsets"] = new JsonArray(offset, offset + bytes),
                };
                offset += bytes;
            }
            var json = Encoding.UTF8.GetBytes(header.ToJsonString());
            int padded = (json.Length + 7) / 8 * 8; // keeps the data 8-byte aligned; spaces are valid JSON padding
            using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
            fs.Write(BitConverter.GetBytes((ulong)padded));
            fs.Write(json);
            for (int i = json.Length; i < padded; i++) fs.WriteByte((byte)' ');
            foreach (var c in contiguous)
            {
                long bytes = c.numel() * Dtypes.Size(c.dtype);
                using var host = ComputeDevice.HostCopy(c); // files hold host bytes, whatever the device
                byte* p = (byte*)TensorMemory.DataPointer(host ?? c);
                for (long done = 0; done < bytes; done += 1 << 24)
                {
                    int n = (int)Math.Min(1 << 24, bytes - done);
                    fs.Write(new ReadOnlySpan<byte>(p + done, n));
                    progress?.Add(n);
                }
            }
            fs.Flush(flushToDisk: true);
        }
        finally { foreach (var c in contiguous) c.Dispose(); }
    }

    /// <summary>Reads every tensor of a file (CPU tensors the caller disposes).</summary>
    public static unsafe Dictionary<string, Tensor> Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"safetensors file {path} does not exist");
        using var fs = File.OpenRead(path);
        var lengthBytes = new byte[8];
        if (fs.ReadAtLeast(lengthBytes, 8, throwOnEndOfStream: false) < 8) throw new InvalidDataException($"{path}: too short for a safetensors file");
        ulong headerLength = BitConverter.ToUInt64(lengthBytes);
        if (headerLength > 100_000_000 || (long)headerLength > fs.Length - 8) throw new InvalidDataException($"{path}: bad safetensors header length {headerLength}");
        var json = new byte[headerLength];
        fs.ReadExactly(json);
        JsonObject header;
        try { header = JsonNode.Parse(json)?.AsObject() ?? throw new InvalidDataException($"{path}: empty safetensors header"); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: safetensors header is not JSON ({e.Message})"); }
        long dataStart = 8 + (long)headerLength;
        var result = new Dictionary<string, Tensor>();
        try
        {
            foreach (var (name, node) in header)
            {
                if (name == "__metadata__") continue;
                var dtype = Parse((string)node!["dtype"]!, path);
                var shape = node["shape"]!.AsArray().Select(x => (long)x!).ToArray();
                var offsets = node["data_offsets"]!.AsArray().Select(x => (long)x!).ToArray();
                long numel = shape.Aggregate(1L, (a, b) => a * b), bytes = offsets[1] - offsets[0];
                if (bytes != numel * Dtypes.Size(dtype) || dataStart + offsets[1] > fs.Length)
                    throw new InvalidDataException($"{path}: tensor {name} has {bytes} bytes at [{offsets[0]}, {offsets[1]}) for shape [{string.Join(", ", shape)}] ({fs.Length - dataStart} data bytes in the file)");
                var t = empty(shape, dtype);
                result[name] = t;
                fs.Position = dataStart + offsets[0];
                byte* p = (byte*)TensorMemory.DataPointer(t);
                for (long done = 0; done < bytes; done += 1 << 24)
                    fs.ReadExactly(new Span<byte>(p + done, (int)Math.Min(1 << 24, bytes - done)));
            }
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        return result;
    }
}
