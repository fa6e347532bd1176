using TorchSharp;

namespace SharpTitan.Distributed;

/// <summary>A collective started with an *Async call. Its tensors must stay alive and untouched until Wait returns.</summary>
public interface IWork
{
    bool IsCompleted { get; }
    /// <summary>Blocks until the operation finished; rethrows its failure.</summary>
    void Wait();
}
