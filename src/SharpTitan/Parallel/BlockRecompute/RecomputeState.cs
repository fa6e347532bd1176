using SharpTitan.Native;
using static TorchSharp.torch;

namespace SharpTitan.Parallel;

/// <summary>
/// What a recomputed forward must see again to reproduce the first one bit for bit: the CPU generator's state
/// (dropout or any sampling inside the block) and libtorch's autocast setting. Captured before a block's first
/// forward; <see cref="Enter"/> restores both around the recompute and puts the caller's back afterwards.
/// </summary>
internal sealed class RecomputeState : IDisposable
{
    private readonly Tensor _rng;
    private readonly bool _autocast;
    private readonly TorchSharp.DeviceType _autocastDevice;

    public RecomputeState()
    {
        _rng = get_rng_state().DetachFromDisposeScope();
        _autocast = Autocast.IsEnabled;
        _autocastDevice = Autocast.DeviceType;
    }

    public IDisposable Enter() => new Restore(this);

    public void Dispose() => _rng.Dispose();

    private sealed class Restore : IDisposable
    {
        private readonly Tensor _callerRng;
        private readonly IDisposable? _autocast;

        public Restore(RecomputeState state)
        {
            _callerRng = get_rng_state().DetachFromDisposeScope();
            set_rng_state(state._rng);
            if (state._autocast && !Autocast.IsEnabled) _autocast = Autocast.Enable(Autocast.Dtype, state._autocastDevice);
        }

        public void Dispose()
        {
            _autocast?.Dispose();
            set_rng_state(_callerRng);
            _callerRng.Dispose();
        }
    }
}
