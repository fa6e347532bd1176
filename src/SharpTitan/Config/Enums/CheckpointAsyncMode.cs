namespace SharpTitan.Config;

/// <summary>checkpoint.async_mode: whether saving blocks training.</summary>
public enum CheckpointAsyncMode
{
    /// <summary>Training waits until the checkpoint is written.</summary>
    Disabled,
    /// <summary>The state is copied, then written in the background while training goes on.</summary>
    Async,
}
