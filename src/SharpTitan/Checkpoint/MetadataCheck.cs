namespace SharpTitan.Checkpoint;

/// <summary>
/// Checks a checkpoint's metadata before any data is read: every tensor's chunks cover it exactly once, and every
/// shard file's chunks lie back to back from the end of its magic to its last byte, as the writer lays them out.
/// A damaged offset, count or size then fails here, naming metadata.json, instead of loading shifted bytes.
/// </summary>
internal static class MetadataCheck
{
    private readonly record struct Extent(long Offset, long Bytes, string Tensor);

    public static void Layout(CheckpointMetadata m, string path)
    {
        var files = new Dictionary<string, FileEntry>();
        foreach (var f in m.Files)
            if (!files.TryAdd(f.Name, f)) throw new InvalidDataException($"{path}: file {f.Name} is listed twice");
        var extents = new Dictionary<string, List<Extent>>();
        foreach (var t in m.Tensors)
        {
            if (t.Shape.Any(d => d < 0)) throw new InvalidDataException($"{path}: tensor {t.Name} has a negative dimension");
            int size = Dtypes.Size(Dtypes.Parse(t.Dtype, $"{path} ({t.Name})"));
            foreach (var c in t.Chunks)
            {
                if (!files.ContainsKey(c.File)) throw new InvalidDataException($"{path}: tensor {t.Name} refers to {c.File}, which the metadata does not list");
                if (c.Count <= 0 || c.Count > long.MaxValue / size || c.Offset < 0)
                    throw new InvalidDataException($"{path}: tensor {t.Name} has a chunk in {c.File} with count {c.Count} at offset {c.Offset}");
                if (!extents.TryGetValue(c.File, out var list)) extents[c.File] = list = [];
                list.Add(new Extent(c.Offset, c.Count * size, t.Name));
            }
            CheckpointReader.CheckCoverage(t, path);
        }
        foreach (var (name, list) in extents)
        {
            list.Sort((a, b) => a.Offset.CompareTo(b.Offset));
            long next = ShardFile.Magic.Length, bytes = files[name].Bytes;
            foreach (var e in list)
            {
                if (e.Offset != next)
                    throw new InvalidDataException($"{path}: tensor {e.Tensor} starts at byte {e.Offset} of {name}, expected {next} " +
                                                   $"({(e.Offset < next ? "overlaps the chunk before it" : "leaves a gap")}): the metadata was altered or damaged");
                if (e.Bytes > bytes - next)
                    throw new InvalidDataException($"{path}: tensor {e.Tensor} ends past the end of {name} ({bytes} bytes): the metadata was altered or damaged");
                next += e.Bytes;
            }
            if (next != bytes)
                throw new InvalidDataException($"{path}: the chunks of {name} end at byte {next}, the file has {bytes}: the metadata was altered or damaged");
        }
    }
}
