using System.Collections.Concurrent;
using System.Reflection;

namespace SharpTitan.Config;

/// <summary>
/// The one mapping between config enum members and their config strings: a member's
/// <see cref="ConfigNameAttribute"/>, else its snake_case name (BlankLines &lt;-&gt; "blank_lines").
/// </summary>
public static class ConfigEnum
{
    private sealed record Table(IReadOnlyList<string> Names, Dictionary<string, object> ByName, Dictionary<object, string> ByValue);

    private static readonly ConcurrentDictionary<Type, Table> Tables = new();

    private static Table For(Type enumType) => Tables.GetOrAdd(enumType, t =>
    {
        var names = new List<string>();
        var byName = new Dictionary<string, object>(StringComparer.Ordinal);
        var byValue = new Dictionary<object, string>();
        foreach (var field in t.GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            string name = field.GetCustomAttribute<ConfigNameAttribute>()?.Name ?? ConfigSchema.SnakeCase(field.Name);
            object value = field.GetValue(null)!;
            names.Add(name);
            byName.Add(name, value);
            byValue.Add(value, name);
        }
        return new Table(names, byName, byValue);
    });

    /// <summary>The config string of <paramref name="value"/> ("bfloat16" for Dtype.BFloat16).</summary>
    public static string ToConfigString<T>(this T value) where T : struct, Enum => Name(value);

    /// <summary>The config string of an enum value of any config enum type.</summary>
    public static string Name(Enum value) =>
        For(value.GetType()).ByValue.TryGetValue(value, out var name)
            ? name
            : throw new ArgumentOutOfRangeException(nameof(value), value, $"not a member of {value.GetType().Name}");

    /// <summary>Every config string of the enum, in declaration order.</summary>
    public static IReadOnlyList<string> Names(Type enumType) => For(enumType).Names;

    public static bool TryParse(Type enumType, string text, out object? value) => For(enumType).ByName.TryGetValue(text, out value);

    public static bool TryParse<T>(string text, out T value) where T : struct, Enum
    {
        bool ok = TryParse(typeof(T), text, out var boxed);
        value = ok ? (T)boxed! : default;
        return ok;
    }

    /// <summary>Parses a config string, or throws a one-line <see cref="ConfigException"/> naming the allowed strings.</summary>
    public static T Parse<T>(string text) where T : struct, Enum =>
        TryParse<T>(text, out var value)
            ? value
            : throw new ConfigException($"\"{text}\": expected one of {string.Join(", ", Names(typeof(T)).Select(n => $"\"{n}\""))}");
}
