using System.Runtime.InteropServices;

namespace XtcpEpoll.Host.Native;

/// <summary>
/// A process inherits ignored signals across exec: a shell starts its background jobs (`xtcp-epoll &`,
/// nohup-style wrappers, test runners started that way) with SIGINT and SIGQUIT ignored, and .NET then
/// never installs its own SIGINT handler, so a PosixSignalRegistration for SIGINT is never called and
/// `kill -INT` does nothing. The daemon documents SIGINT as a graceful stop, so it restores the default
/// disposition before registering.
/// </summary>
internal static unsafe partial class SignalDisposition
{
    public const int SIGINT = 2;
    private static readonly nint SigIgn = 1;
    /// <summary>struct sigaction is 152 bytes on x86-64 and arm64 glibc; the handler is its first field.</summary>
    private const int SigactionBufferSize = 256;

    /// <summary>If <paramref name="signal"/> is ignored, make it default again; true when it was ignored.</summary>
    public static bool RestoreDefaultIfIgnored(int signal)
    {
        byte* current = stackalloc byte[SigactionBufferSize];
        new Span<byte>(current, SigactionBufferSize).Clear();
        if (sigaction(signal, null, current) != 0 || *(nint*)current != SigIgn)
            return false;
        byte* byDefault = stackalloc byte[SigactionBufferSize]; // SIG_DFL (0), empty mask, no flags
        new Span<byte>(byDefault, SigactionBufferSize).Clear();
        return sigaction(signal, byDefault, null) == 0;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int sigaction(int signal, byte* action, byte* oldAction);
}
