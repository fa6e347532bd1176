namespace SharpTitan.Training;

/// <summary>The loss or gradient norm stopped being finite; the message names the step.</summary>
public sealed class TrainingDivergedException(string message) : Exception(message);
