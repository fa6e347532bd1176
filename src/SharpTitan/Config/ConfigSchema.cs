using System.Globalization;
using System.Reflection;
using System.Text;

namespace SharpTitan.Config;

/// <summary>
/// The sections and keys of <see cref="JobConfig"/> found by reflection, with snake_case names, and the one
/// place that turns a TOML or command-line value into a typed key value (with the one-line errors).
/// </summary>
internal static class ConfigSchema
{
    internal sealed record Key(string Section, string Name, PropertyInfo Property)
    {
        public string FullName => $"{Section}.{Name}";
        public Type ValueType => Nullable.GetUnderlyingType(Property.PropertyType) ?? Property.PropertyType;
        /// <summary>The key's one-line meaning (its <see cref="DocAttribute"/>), or null when it lacks one.</summary>
        public string? Doc => Property.GetCustomAttribute<DocAttribute>()?.Text;
        /// <summary>The enum behind the key: the value's type, or a list's element type; null for other keys.</summary>
        public Type? EnumType => ValueType.IsEnum ? ValueType
            : ValueType.IsArray && ValueType.GetElementType()!.IsEnum ? ValueType.GetElementType() : null;
        /// <summary>The strings the key accepts (for a list: each element): [OneOf], else an enum's config names; null = any.</summary>
        public IReadOnlyList<string>? AllowedValues =>
            Property.GetCustomAttribute<OneOfAttribute>()?.Values ?? (EnumType is { } e ? ConfigEnum.Names(e) : null);
        public bool IsNullable => Nullable.GetUnderlyingType(Property.PropertyType) != null
                                  || (Property.PropertyType == typeof(string)
                                      && new NullabilityInfoContext().Create(Property).WriteState == NullabilityState.Nullable);
    }

    internal sealed record Section(string Name, PropertyInfo Property, IReadOnlyList<Key> Keys);

    public static IReadOnlyList<Section> Sections { get; } = typeof(JobConfig).GetProperties()
        .Select(sp => new Section(SnakeCase(sp.Name), sp,
            sp.PropertyType.GetProperties().Select(kp => new Key(SnakeCase(sp.Name), SnakeCase(kp.Name), kp)).ToList()))
        .ToList();

    public static string SnakeCase(string pascal)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < pascal.Length; i++)
        {
            char c = pascal[i];
            if (char.IsUpper(c) && i > 0 && (char.IsLower(pascal[i - 1]) || char.IsDigit(pascal[i - 1]))) sb.Append('_');
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }

    public static Section FindSection(string name, string where) =>
        Sections.FirstOrDefault(s => s.Name == name)
        ?? throw new ConfigException($"{where}unknown section [{name}]{Suggest(name, Sections.Select(s => s.Name))}");

    public static Key FindKey(string section, string name, string where)
    {
        var s = FindSection(section, where);
        return s.Keys.FirstOrDefault(k => k.Name == name)
               ?? throw new ConfigException(
                   $"{where}unknown key '{section}.{name}'{Suggest(name, s.Keys.Select(k => k.Name), section + ".")}");
    }

    public static object SectionObject(JobConfig config, Key key) =>
        Sections.First(s => s.Name == key.Section).Property.GetValue(config)!;

    public static object? Get(JobConfig config, Key key) => key.Property.GetValue(SectionObject(config, key));

    /// <summary>Sets a key from a TOML value (long, double, bool, string, array) or a command-line string.</summary>
    public static void Set(JobConfig config, Key key, object? raw, string where, bool fromCommandLine = false)
    {
        object? value = Convert(key, raw, where, fromCommandLine);
        key.Property.SetValue(SectionObject(config, key), value);
    }

    private static object? Convert(Key key, object? raw, string where, bool fromCommandLine)
    {
        string Bad(string expected) =>
            $"{where}'{key.FullName}' = {Show(raw)}: expected {expected}";
        var t = key.ValueType;
        if (fromCommandLine && raw is string s && t != typeof(string))
        {
            if (key.IsNullable && (s == "" || s.Equals("none", StringComparison.OrdinalIgnoreCase) || s == "null")) return null;
            raw = ParseCommandLineValue(s, t) ?? throw new ConfigException(Bad(Describe(t)));
        }
        if (t == typeof(bool)) return raw is bool b ? b : throw new ConfigException(Bad("true or false"));
        if (t == typeof(int))
        {
            if (raw is long l && l >= int.MinValue && l <= int.MaxValue) return (int)l;
            throw new ConfigException(Bad("an integer"));
        }
        if (t == typeof(double))
        {
            if (raw is double d) return d;
            if (raw is long l) return (double)l;
            throw new ConfigException(Bad("a number"));
        }
        if (t == typeof(string)) return raw is string str ? str : throw new ConfigException(Bad("a string"));
        if (t.IsEnum) return raw is string name ? ParseEnum(key, t, name) : throw new ConfigException(Bad("a string"));
        if (t == typeof(string[][]))
        {
            if (raw is string[][] lists) return lists;
            if (raw is IEnumerable<object> outer)
            {
                var parts = outer.Select(o => o is IEnumerable<object> inner && inner.All(i => i is string) ? inner.Cast<string>().ToArray() : null).ToList();
                if (parts.All(x => x != null)) return parts.ToArray();
            }
            throw new ConfigException(Bad("a list of lists of strings"));
        }
        if (t == typeof(string[]) || key.EnumType is not null)
        {
            string[]? strings = raw as string[];
            if (strings == null && raw is IEnumerable<object> items)
            {
                var list = items.ToList();
                if (list.All(i => i is string)) strings = list.Cast<string>().ToArray();
            }
            if (strings == null) throw new ConfigException(Bad("a list of strings"));
            if (key.EnumType is not { } element) return strings;
            var values = Array.CreateInstance(element, strings.Length);
            for (int i = 0; i < strings.Length; i++) values.SetValue(ParseEnum(key, element, strings[i]), i);
            return values;
        }
        throw new InvalidOperationException($"config key {key.FullName} has an unsupported type {t}");
    }

    /// <summary>An enum key's value from its config string; anything else is the key's one-of error.</summary>
    private static object ParseEnum(Key key, Type enumType, string name) =>
        key.AllowedValues!.Contains(name) && ConfigEnum.TryParse(enumType, name, out var value)
            ? value!
            : throw new ConfigException(NotOneOf(key, name));

    /// <summary>"'section.key' = "v": expected one of "a", "b"" and a suggestion: the error for a value outside the set.</summary>
    public static string NotOneOf(Key key, string value) =>
        $"'{key.FullName}' = \"{value}\": expected one of {string.Join(", ", key.AllowedValues!.Select(x => $"\"{x}\""))}"
        + Suggest(value, key.AllowedValues!);

    private static object? ParseCommandLineValue(string s, Type t)
    {
        if (t == typeof(bool)) return s.ToLowerInvariant() switch { "true" or "1" or "yes" => true, "false" or "0" or "no" => false, _ => null };
        if (t == typeof(int)) return long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l) ? l : null;
        if (t == typeof(double)) return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : null;
        if (t == typeof(string[][])) return s.Split(';', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split(',').Select(x => x.Trim()).ToArray()).ToArray();
        if (t.IsArray) return s.Length == 0 ? Array.Empty<string>() : s.Split(',').Select(x => x.Trim()).ToArray();
        if (t.IsEnum) return s;
        return null;
    }

    private static string Describe(Type t) =>
        t == typeof(bool) ? "true or false" : t == typeof(int) ? "an integer" : t == typeof(double) ? "a number"
        : t == typeof(string[][]) ? "lists separated by ';', their items by ','"
        : t.IsArray ? "a comma-separated list" : "a string";

    public static string Show(object? v) => v switch
    {
        null => "(unset)",
        string s => Quote(s),
        bool b => b ? "true" : "false",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        Enum e => Quote(ConfigEnum.Name(e)),
        string[] a => "[" + string.Join(", ", a.Select(Quote)) + "]",
        Array a when a.GetType().GetElementType()!.IsEnum => "[" + string.Join(", ", a.Cast<Enum>().Select(Show)) + "]",
        IEnumerable<object> e => "[" + string.Join(", ", e.Select(Show)) + "]",
        _ => System.Convert.ToString(v, CultureInfo.InvariantCulture) ?? "?",
    };

    private static string Quote(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

    /// <summary>" (did you mean 'x'?)" for the closest name by edit distance, or "" when nothing is close.</summary>
    public static string Suggest(string name, IEnumerable<string> candidates, string prefix = "")
    {
        var best = candidates.Select(c => (c, d: EditDistance(name, c))).OrderBy(x => x.d).FirstOrDefault();
        if (best.c == null || best.d > Math.Max(3, name.Length / 2)) return "";
        return $" (did you mean '{prefix}{best.c}'?)";
    }

    private static int EditDistance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
        for (int j = 1; j <= b.Length; j++)
            d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
        return d[a.Length, b.Length];
    }
}
