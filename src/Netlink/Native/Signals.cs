using static Tmds.Linux.LibC;

namespace XtcpEpoll.Netlink.Native;

/// <summary>Signal dispositions of this process (Tmds.LibC's struct sigaction: the handler is its first field).</summary>
public static unsafe class Signals
{
    /// <summary>
    /// If <paramref name="signal"/> is ignored (e.g. SIGINT inherited as SIG_IGN by a shell's background job,
    /// which .NET's own handling never undoes), makes it default again; true when it was ignored.
    /// </summary>
    public static bool RestoreDefaultIfIgnored(int signal)
    {
        Tmds.Linux.sigaction current = default;
        if (sigaction(signal, null, &current) != 0 || *(void**)&current != SIG_IGN)
            return false;
        Tmds.Linux.sigaction byDefault = default; // SIG_DFL (0), empty mask, no flags
        return sigaction(signal, &byDefault, null) == 0;
    }
}
