using System.Runtime.InteropServices;

namespace XtcpEpoll.Netlink.Native;

/// <summary>errno of the last libc call made on this thread (Tmds.LibC and the local imports both set it).</summary>
public static class Errno
{
    public static int Last => Marshal.GetLastPInvokeError();

    /// <summary>"errno 11 (Resource temporarily unavailable)".</summary>
    public static string Describe(int errno) => $"errno {errno} ({Marshal.GetPInvokeErrorMessage(errno)})";

    /// <summary>"<paramref name="what"/> failed: errno N (text)" — for calls whose failure stops a start-up.</summary>
    public static InvalidOperationException Failure(string what, int errno) => new($"{what} failed: {Describe(errno)}");
}
