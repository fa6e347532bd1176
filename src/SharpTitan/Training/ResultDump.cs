using System.Globalization;
using System.Text;
using static TorchSharp.torch;

namespace SharpTitan.Training;

/// <summary>
/// debug.dump_results_folder: what equivalence tests compare across parallel layouts. params.bin is
/// "STPD" + int32 count, then per parameter: int32 name length, UTF-8 name, int64 element count, fp32 values
/// (little-endian), sorted by name.
/// </summary>
internal static class ResultDump
{
    public static void WriteLosses(string folder, IEnumerable<double> losses)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllLines(Path.Combine(folder, "losses.txt"), losses.Select(l => l.ToString("R", CultureInfo.InvariantCulture)));
    }

    /// <summary>The losses written by <see cref="WriteLosses"/> (the folder holds losses.txt).</summary>
    public static double[] ReadLosses(string folder) =>
        File.ReadAllLines(Path.Combine(folder, "losses.txt"))
            .Select(l => double.Parse(l, System.Globalization.CultureInfo.InvariantCulture)).ToArray();

    public static void WriteParameters(string folder, IEnumerable<(string Name, Tensor Value)> parameters)
    {
        Directory.CreateDirectory(folder);
        using var w = new BinaryWriter(File.Create(Path.Combine(folder, "params.bin")));
        var list = parameters.OrderBy(p => p.Name, StringComparer.Ordinal).ToList();
        w.Write(Encoding.ASCII.GetBytes("STPD"));
        w.Write(list.Count);
        foreach (var (name, value) in list)
        {
            var bytes = Encoding.UTF8.GetBytes(name);
            w.Write(bytes.Length);
            w.Write(bytes);
            using var f = value.detach().to(ScalarType.Float32).cpu().contiguous().reshape(-1);
            var data = f.data<float>().ToArray();
            w.Write((long)data.Length);
            foreach (var x in data) w.Write(x);
        }
    }

    public static Dictionary<string, float[]> ReadParameters(string path)
    {
        using var r = new BinaryReader(File.OpenRead(path));
        if (Encoding.ASCII.GetString(r.ReadBytes(4)) != "STPD") throw new InvalidDataException($"{path} is not a parameter dump");
        int count = r.ReadInt32();
        var result = new Dictionary<string, float[]>();
        for (int i = 0; i < count; i++)
        {
            var name = Encoding.UTF8.GetString(r.ReadBytes(r.ReadInt32()));
            var data = new float[r.ReadInt64()];
            for (long j = 0; j < data.Length; j++) data[j] = r.ReadSingle();
            result[name] = data;
        }
        return result;
    }
}
