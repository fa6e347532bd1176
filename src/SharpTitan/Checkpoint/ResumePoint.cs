using SharpTitan.Data;

namespace SharpTitan.Checkpoint;

/// <summary>
/// Where a run starts: the step already done and the data loader's position (null = the beginning).
/// <paramref name="LrStepOffset"/>: steps done that the LR schedule has not seen (the resumed step when
/// exclude_from_loading has "lr_scheduler", so the schedule starts over as torchtitan's would).
/// </summary>
public sealed record ResumePoint(int Step, DataLoaderState? DataLoader, int LrStepOffset = 0);
