namespace SharpTitan.Config;

/// <summary>An invalid config file, key, value or override. The message names the key and what was expected.</summary>
public sealed class ConfigException(string message) : Exception(message);
