namespace SharpTitan.Data;

/// <summary>
/// The global stream of training windows (seq_len + 1 tokens each, no padding) in a fixed order, with a position
/// that can be saved and restored.
/// </summary>
public interface IWindowSource
{
    int WindowLength { get; }
    /// <summary>Fills <paramref name="window"/> (WindowLength tokens) with the next window.</summary>
    void Read(Span<int> window);
    /// <summary>Moves past <paramref name="windows"/> windows (other ranks' rows) as cheaply as the source allows.</summary>
    void Skip(long windows);
    DataLoaderState State { get; }
    void Restore(DataLoaderState state);
    /// <summary>One line for the setup log.</summary>
    string Describe();
}
