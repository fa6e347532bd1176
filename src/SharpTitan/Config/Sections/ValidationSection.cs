namespace SharpTitan.Config;

/// <summary>[validation]: evaluation on a held-out set during training.</summary>
public sealed class ValidationSection
{
    [Doc("Evaluate the model on a validation set every freq steps.")]
    public bool Enable { get; set; }
    [Doc("Validation dataset name or path (as training.dataset).")]
    public string Dataset { get; set; } = "c4_validation";
    [Doc("Where the validation dataset's files are; unset = the name's default location.")]
    public string? DatasetPath { get; set; }
    [Doc("Sequences per validation batch on each rank.")]
    [Range(1, int.MaxValue)] public int LocalBatchSize { get; set; } = 8;
    [Doc("Tokens per validation sequence; unset = training.seq_len.")]
    [Range(1, int.MaxValue)] public int? SeqLen { get; set; }
    [Doc("Steps between validations.")]
    [Range(1, int.MaxValue)] public int Freq { get; set; } = 500;
    /// <summary>-1 = the whole validation set.</summary>
    [Doc("Validation batches per evaluation; -1 = the whole validation set.")]
    [Range(-1, int.MaxValue)] public int Steps { get; set; } = -1;

    /// <summary>The validation sequence length: <see cref="SeqLen"/>, or training.seq_len when unset.</summary>
    public int SeqLenFor(int trainingSeqLen) => SeqLen ?? trainingSeqLen;
}
