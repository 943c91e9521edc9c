using System.Runtime.InteropServices;
using XtcpEpoll.Host.Native;

namespace XtcpEpoll.Host.Lifecycle;

/// <summary>
/// SIGTERM and SIGINT request a graceful stop instead of killing the process: the handler cancels the
/// default termination and completes <see cref="Received"/> once; the command then drains and exits 0.
/// SIGINT inherited as ignored (a shell's background job) was made default by Main, or .NET would never
/// deliver it (see <see cref="SignalDisposition"/>).
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
        SigIntHandled = SignalDisposition.HasHandler(SignalDisposition.SIGINT);
    }

    /// <summary>The process started with SIGINT ignored; Main made it default, so it is handled like SIGTERM.</summary>
    public static bool InheritedIgnoredSigInt => SignalDisposition.SigIntRestoredAtStart;

    /// <summary>A handler is in place for SIGINT (false: SIGINT would end the process without draining).</summary>
    public bool SigIntHandled { get; }

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
