namespace SharpTitan.Config;

/// <summary>training.dataset_txt_split: how a .txt file splits into documents.</summary>
public enum TxtDocumentSplit
{
    /// <summary>The whole file is one document.</summary>
    File,
    /// <summary>Each block of lines between blank lines is one document.</summary>
    BlankLines,
}
