using System.Runtime.InteropServices;

namespace XtcpEpoll.Host.Lifecycle;

/// <summary>
/// SIGTERM and SIGINT request a graceful stop instead of killing the process: the handler cancels the
/// default termination and runs <c>onStop</c> once; the command then drains and exits 0.
/// </summary>
public sealed class ShutdownSignals : IDisposable
{
    private readonly PosixSignalRegistration _term;
    private readonly PosixSignalRegistration _int;
    private readonly TaskCompletionSource<PosixSignal> _received = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ShutdownSignals()
    {
        _term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle);
        _int = PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle);
    }

    /// <summary>Completes with the first stop signal received.</summary>
    public Task<PosixSignal> Received => _received.Task;

    private void Handle(PosixSignalContext context)
    {
        context.Cancel = true;
        _received.TrySetResult(context.Signal);
    }

    public void Dispose()
    {
        _term.Dispose();
        _int.Dispose();
    }
}
