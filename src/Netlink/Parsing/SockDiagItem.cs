namespace XtcpEpoll.Netlink.Parsing;

/// <summary>What <see cref="SockDiagReader.Next"/> found.</summary>
public enum SockDiagItem : byte
{
    /// <summary>No more messages in this datagram.</summary>
    End = 0,
    /// <summary>One socket; the ParsedSocket passed in was filled.</summary>
    Socket = 1,
    /// <summary>NLMSG_DONE without error: the dump is complete.</summary>
    Done = 2,
    /// <summary>NLMSG_ERROR with a non-zero code, or NLMSG_DONE carrying a negative code: the dump ended
    /// with reader.ErrorNumber (positive errno).</summary>
    Error = 3,
}
