using System.Runtime.InteropServices;

namespace XtcpEpoll.Host.Native;

/// <summary>
/// A process inherits ignored signals across exec: a shell starts its background jobs (`xtcp-epoll &`,
/// nohup-style wrappers, test runners started that way) with SIGINT and SIGQUIT ignored. .NET respects
/// that: the first time its signal layer initialises (lazily, e.g. when the console logger's thread first
/// writes) it marks an ignored SIGINT as handled without installing anything, so a PosixSignalRegistration
/// for SIGINT is never called and `kill -INT` does nothing. The daemon documents SIGINT as a graceful
/// stop, so Main restores the default disposition before anything can initialise that layer.
/// </summary>
internal static unsafe partial class SignalDisposition
{
    public const int SIGINT = 2;
    private static readonly nint SigDfl = 0, SigIgn = 1;
    /// <summary>struct sigaction is 152 bytes on x86-64 and arm64 glibc; the handler is its first field.</summary>
    private const int SigactionBufferSize = 256;

    /// <summary>SIGINT was inherited as ignored and Main made it default again.</summary>
    public static bool SigIntRestoredAtStart { get; private set; }

    /// <summary>Called first thing in Main, on the main thread, before any console or signal use.</summary>
    public static void RestoreSigIntIfIgnored() => SigIntRestoredAtStart = RestoreDefaultIfIgnored(SIGINT);

    /// <summary>True when a handler is installed for <paramref name="signal"/> (neither default nor ignored).</summary>
    public static bool HasHandler(int signal)
    {
        nint handler = CurrentHandler(signal);
        return handler != SigDfl && handler != SigIgn;
    }

    private static bool RestoreDefaultIfIgnored(int signal)
    {
        if (CurrentHandler(signal) != SigIgn)
            return false;
        byte* byDefault = stackalloc byte[SigactionBufferSize]; // SIG_DFL (0), empty mask, no flags
        new Span<byte>(byDefault, SigactionBufferSize).Clear();
        return sigaction(signal, byDefault, null) == 0;
    }

    private static nint CurrentHandler(int signal)
    {
        byte* current = stackalloc byte[SigactionBufferSize];
        new Span<byte>(current, SigactionBufferSize).Clear();
        return sigaction(signal, null, current) == 0 ? *(nint*)current : SigDfl;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int sigaction(int signal, byte* action, byte* oldAction);
}
