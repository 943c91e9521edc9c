using static Tmds.Linux.LibC;

namespace XtcpEpoll.Netlink.Native;

/// <summary>Bind mounts (how `ip netns add` pins a namespace to a file) and lazy unmounts.</summary>
public static unsafe class Mounts
{
    /// <summary>mount(source, target, NULL, MS_BIND, NULL): 0 or the errno.</summary>
    public static int Bind(string source, string target)
    {
        Span<byte> s = stackalloc byte[NativePath.StackBytes], t = stackalloc byte[NativePath.StackBytes];
        fixed (byte* ps = NativePath.Encode(source, s))
        fixed (byte* pt = NativePath.Encode(target, t))
            return mount(ps, pt, null, MS_BIND, null) == 0 ? 0 : Errno.Last;
    }

    /// <summary>umount2(target, MNT_DETACH): 0 or the errno.</summary>
    public static int Detach(string target)
    {
        Span<byte> t = stackalloc byte[NativePath.StackBytes];
        fixed (byte* pt = NativePath.Encode(target, t))
            return umount2(pt, MNT_DETACH) == 0 ? 0 : Errno.Last;
    }
}
