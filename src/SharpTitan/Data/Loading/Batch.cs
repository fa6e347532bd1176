namespace SharpTitan.Data;

/// <summary>One rank's micro-batch: inputs and labels (inputs shifted by one), row-major [Rows, SeqLen].</summary>
public sealed record Batch(long[] Inputs, long[] Labels, int Rows, int SeqLen);
