namespace SharpTitan.Config;

/// <summary>[checkpoint]: when and how state is saved and loaded.</summary>
public sealed class CheckpointSection
{
    [Doc("Save checkpoints, and resume from the latest one in the folder.")]
    public bool Enable { get; set; }
    [Doc("Checkpoint folder, under job.dump_folder.")]
    public string Folder { get; set; } = "checkpoint";
    [Doc("Steps between checkpoints.")]
    [Range(1, int.MaxValue)] public int Interval { get; set; } = 500;
    [Doc("A checkpoint to load at start when the checkpoint folder holds none.")]
    public string? InitialLoadPath { get; set; }
    [Doc("The initial load takes the model only (no optimizer or training state).")]
    public bool InitialLoadModelOnly { get; set; } = true;
    [Doc("initial_load_path is a Hugging Face safetensors folder.")]
    public bool InitialLoadInHf { get; set; }
    [Doc("The last checkpoint holds the model only, in export_dtype.")]
    public bool LastSaveModelOnly { get; set; } = true;
    [Doc("Write the last checkpoint as a Hugging Face safetensors folder (needs last_save_model_only).")]
    public bool LastSaveInHf { get; set; }
    [Doc("Dtype of model-only checkpoints.")]
    [OneOf("float32", "bfloat16", "float16")] public Dtype ExportDtype { get; set; } = Dtype.Float32;
    [Doc("\"disabled\" (training waits for each save) or \"async\" (written in the background).")]
    public CheckpointAsyncMode AsyncMode { get; set; } = CheckpointAsyncMode.Disabled;
    [Doc("Checkpoints kept, the newest; older ones are deleted; 0 = keep all.")]
    [Range(0, int.MaxValue)] public int KeepLatestK { get; set; } = 10;
    [Doc("The step to resume from; -1 = the latest.")]
    [Range(-1, int.MaxValue)] public int LoadStep { get; set; } = -1;
    [Doc("Parts of a checkpoint not loaded on resume: \"model\", \"optimizer\", \"lr_scheduler\", \"dataloader\", \"train_state\".")]
    public string[] ExcludeFromLoading { get; set; } = [];
    [Doc("Also save a checkpoint after step 1.")]
    public bool EnableFirstStepCheckpoint { get; set; }
    [Doc("Save the initial weights as step 0 and stop (a seed checkpoint for other runs).")]
    public bool CreateSeedCheckpoint { get; set; }
}
