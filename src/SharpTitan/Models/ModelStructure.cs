using SharpTitan.Models.Llama3;
using TorchSharp;
using static TorchSharp.torch;

namespace SharpTitan.Models;

/// <summary>
/// A model's modules as indented lines: each module's name and type, the shapes and dtypes of the parameters it
/// holds itself, and for a <see cref="LinearLayer"/> the kernel a converter installed (model.print_after_conversion).
/// </summary>
internal static class ModelStructure
{
    public static string Describe(nn.Module model, string title)
    {
        var lines = new List<string>();
        Append(lines, model, title, 0);
        return string.Join(Environment.NewLine, lines);
    }

    /// <summary>The module's line, then its children's, depth first (named_modules lists breadth first).</summary>
    private static void Append(List<string> lines, nn.Module module, string name, int depth)
    {
        var line = $"{new string(' ', 2 * depth)}{name}: {TypeName(module)}";
        var held = module.named_parameters(recurse: false)
            .Select(p => $"{p.name} [{string.Join(", ", p.parameter.shape)}] {p.parameter.dtype}").ToList();
        if (module is LinearLayer linear) held.Add($"kernel {(linear.Kernel is { } k ? TypeName(k) : "plain")}");
        lines.Add(held.Count > 0 ? $"{line} ({string.Join("; ", held)})" : line);
        foreach (var (childName, child) in module.named_children()) Append(lines, child, childName, depth + 1);
    }

    private static string TypeName(object o)
    {
        string name = o.GetType().Name;
        int tick = name.IndexOf('`');
        return tick < 0 ? name : name[..tick];
    }
}
