namespace SharpTitan.Config;

/// <summary>
/// What a config key means, in one line (torchtitan's meaning unless it says otherwise): the text
/// `sharptitan config --help` shows. Every key carries one (a test checks).
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class DocAttribute(string text) : Attribute
{
    public string Text { get; } = text;
}
