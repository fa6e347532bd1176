namespace SharpTitan.Data;

/// <summary>
/// A tokenizer's document-boundary tokens: their text and ids (BOS and EOS may be one token), and a padding token
/// when the tokenizer has one. Hugging Face's tokenizer_config.json names them as bos_token, eos_token and pad_token.
/// </summary>
public sealed record SpecialTokens(string Bos, int BosId, string Eos, int EosId, string? Pad = null, int? PadId = null);
