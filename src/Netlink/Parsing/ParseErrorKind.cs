namespace XtcpEpoll.Netlink.Parsing;

/// <summary>Kinds of damage the parser counts (label values of xtcp_parse_errors_total{kind}).</summary>
public enum ParseErrorKind
{
    /// <summary>Fewer than 16 bytes left where an nlmsghdr should start; rest of datagram dropped.</summary>
    TruncatedHeader,
    /// <summary>nlmsg_len below 16: the walk cannot advance; rest of datagram dropped.</summary>
    LengthTooSmall,
    /// <summary>nlmsg_len runs past the datagram end (cut capture, lying length); message dropped.</summary>
    LengthOverflow,
    /// <summary>A socket reply shorter than nlmsghdr + inet_diag_msg; message dropped.</summary>
    TruncatedInetDiagMsg,
    /// <summary>rta_len runs past the message end; message dropped.</summary>
    TruncatedAttribute,
    /// <summary>rta_len below the 4-byte rtattr header; message dropped.</summary>
    AttributeLengthTooSmall,
    /// <summary>An attribute payload smaller than its type's struct; message dropped.</summary>
    AttributeTooShortForType,
    /// <summary>NLMSG_ERROR or NLMSG_DONE too short to hold its error code.</summary>
    TruncatedErrorMessage,
    /// <summary>A message type that is not sock_diag, DONE, ERROR or NOOP; skipped by its length.</summary>
    UnexpectedMessageType,
}
