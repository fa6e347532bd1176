namespace SharpTitan.Data;

/// <summary>
/// Windows read straight from a memory-mapped <see cref="TokenFile"/>: window w is global tokens
/// [w x len, (w+1) x len) of the file's stream repeated end to end, the same windows the streaming source cuts
/// (it repeats the same stream), and skipping other ranks' rows reads nothing.
/// </summary>
internal sealed class TokenFileWindows(TokenFile file, int windowLength) : IWindowSource, IDisposable
{
    private long _window;

    public int WindowLength => windowLength;

    public DataLoaderState State => new() { Window = _window, Epoch = (int)(_window * windowLength / file.TokenCount) };

    public void Restore(DataLoaderState state) => _window = state.Window;

    public void Read(Span<int> window)
    {
        long start = _window++ * windowLength % file.TokenCount;
        int filled = 0;
        while (filled < window.Length)
        {
            int n = (int)Math.Min(window.Length - filled, file.TokenCount - start);
            file.Read(start, window.Slice(filled, n));
            filled += n;
            start = 0;
        }
    }

    public void Skip(long windows) => _window += windows;

    public string Describe() => $"token file {file.Path} ({file.TokenCount:N0} tokens, memory-mapped)";

    public void Dispose() => file.Dispose();
}
