using System.Runtime.InteropServices;
using XtcpEpoll.Netlink.Native;

namespace XtcpEpoll.Host.Lifecycle;

/// <summary>
/// SIGTERM and SIGINT request a graceful stop instead of killing the process: the handler cancels the
/// default termination and completes <see cref="Received"/> once; the command then drains and exits 0.
/// <para>
/// A process inherits ignored signals across exec: a shell starts its background jobs (`xtcp-epoll &amp;`,
/// nohup-style wrappers, test runners started that way) with SIGINT and SIGQUIT ignored. .NET respects
/// that: the first time its signal layer initialises (lazily, e.g. when the console logger's thread first
/// writes) it marks an ignored SIGINT as handled without installing anything, so a PosixSignalRegistration
/// for SIGINT is never called. The daemon documents SIGINT as a graceful stop, so Main calls
/// <see cref="RestoreSigIntIfIgnored"/> before anything can initialise that layer.
/// </para>
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
        SigIntHandled = Signals.HasHandler(Tmds.Linux.LibC.SIGINT);
    }

    /// <summary>Called first thing in Main, on the main thread, before any console or signal use.</summary>
    public static void RestoreSigIntIfIgnored() => InheritedIgnoredSigInt = Signals.RestoreDefaultIfIgnored(Tmds.Linux.LibC.SIGINT);

    /// <summary>The process started with SIGINT ignored; Main made it default, so it is handled like SIGTERM.</summary>
    public static bool InheritedIgnoredSigInt { get; private set; }

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
