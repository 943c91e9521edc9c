using static Tmds.Linux.LibC;

namespace XtcpEpoll.Netlink.Native;

/// <summary>Network interfaces of the calling thread's namespace.</summary>
public static unsafe class NetInterfaces
{
    /// <summary>Sets IFF_UP on <paramref name="name"/> (a new namespace's "lo" starts down): 0 or the errno.</summary>
    public static int BringUp(string name) => Update(name, LibCAdditions.IFF_UP, out _);

    /// <summary>The interface's IFF_* flags (SIOCGIFFLAGS): 0 or the errno.</summary>
    public static int GetFlags(string name, out short flags) => Update(name, 0, out flags);

    /// <summary>SIOCGIFFLAGS, then SIOCSIFFLAGS with <paramref name="set"/> added when it is not already there.</summary>
    private static int Update(string name, short set, out short flags)
    {
        flags = 0;
        using var s = OwnedFd.FromResult(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), out int errno);
        if (s == null) return errno;
        var request = default(IfReqFlags);
        int n = System.Text.Encoding.ASCII.GetBytes(name, new Span<byte>(request.Name, IfReqFlags.IFNAMSIZ - 1));
        request.Name[n] = 0;
        using var fd = s.Borrow();
        if (ioctl(fd.Fd, SIOCGIFFLAGS, &request) != 0) return Errno.Last;
        flags = request.Flags;
        if ((flags & set) == set) return 0;
        request.Flags |= set;
        if (ioctl(fd.Fd, SIOCSIFFLAGS, &request) != 0) return Errno.Last;
        flags = request.Flags;
        return 0;
    }
}
