using System.Text;

namespace SharpTitan.Tests.Support;

/// <summary>
/// Reads scalar summaries back from a TensorBoard event file: TFRecord framing (u64 length, u32 crc, data,
/// u32 crc) around Event protobufs (step = field 2, summary = field 5 -> value = field 1 -> tag 1, simple_value 2).
/// </summary>
public static class TensorBoardEventReader
{
    public sealed record Scalar(string Tag, long Step, float Value);

    public static List<Scalar> ReadScalars(string path)
    {
        var result = new List<Scalar>();
        var bytes = File.ReadAllBytes(path);
        int pos = 0;
        while (pos + 12 <= bytes.Length)
        {
            long len = BitConverter.ToInt64(bytes, pos);
            int start = pos + 12;
            ParseEvent(bytes.AsSpan(start, (int)len), result);
            pos = start + (int)len + 4;
        }
        return result;
    }

    private static void ParseEvent(ReadOnlySpan<byte> e, List<Scalar> into)
    {
        long step = 0;
        var summaries = new List<byte[]>();
        foreach (var (field, wire, value, bytes) in Fields(e.ToArray()))
        {
            if (field == 2 && wire == 0) step = value;
            if (field == 5 && wire == 2) summaries.Add(bytes!);
        }
        foreach (var s in summaries)
        foreach (var (field, wire, _, v) in Fields(s))
        {
            if (field != 1 || wire != 2) continue;
            string tag = "";
            float val = float.NaN;
            foreach (var (f2, w2, raw, b2) in Fields(v!))
            {
                if (f2 == 1 && w2 == 2) tag = Encoding.UTF8.GetString(b2!);
                if (f2 == 2 && w2 == 5) val = BitConverter.Int32BitsToSingle((int)raw);
            }
            into.Add(new Scalar(tag, step, val));
        }
    }

    private static IEnumerable<(int Field, int Wire, long Value, byte[]? Bytes)> Fields(byte[] data)
    {
        int pos = 0;
        while (pos < data.Length)
        {
            long key = Varint(data, ref pos);
            int field = (int)(key >> 3), wire = (int)(key & 7);
            switch (wire)
            {
                case 0: yield return (field, wire, Varint(data, ref pos), null); break;
                case 1: yield return (field, wire, BitConverter.ToInt64(data, pos), null); pos += 8; break;
                case 5: yield return (field, wire, BitConverter.ToInt32(data, pos), null); pos += 4; break;
                case 2:
                    int len = (int)Varint(data, ref pos);
                    yield return (field, wire, 0, data.AsSpan(pos, len).ToArray());
                    pos += len;
                    break;
                default: throw new InvalidDataException($"unexpected protobuf wire type {wire}");
            }
        }
    }

    private static long Varint(byte[] data, ref int pos)
    {
        long result = 0;
        for (int shift = 0; ; shift += 7)
        {
            byte b = data[pos++];
            result |= (long)(b & 0x7f) << shift;
            if ((b & 0x80) == 0) return result;
        }
    }
}
