using System.Text;

namespace SharpTitan.Data;

/// <summary>UTF-16 text as UTF-8 sees it: lone surrogates become U+FFFD, as Encoding.UTF8 writes them.</summary>
internal static class Utf8Text
{
    /// <summary>The text unchanged when it is valid UTF-16 (the common case, no allocation); otherwise a copy
    /// with each lone surrogate replaced, so every tokenizer sees the same text the byte tokenizer encodes.</summary>
    public static string Sanitize(string text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (!char.IsSurrogate(c)) continue;
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) { i++; continue; }
            return Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(text));
        }
        return text;
    }
}
