using System.Net;
using XtcpEpoll.Netlink.Requests;
using XtcpEpoll.Sinks.Marshal;
using XtcpEpoll.Sinks.Proto;

namespace XtcpEpoll.Host.Control;

/// <summary>`watch`'s filters; every one given must match (client side: the daemon streams every record).</summary>
internal sealed class WatchFilter
{
    public string? Netns { get; init; }
    public string? Pod { get; init; }
    public string? Container { get; init; }
    public uint? Port { get; init; }
    /// <summary>Bit (1 &lt;&lt; state) per accepted TCP state; null = any.</summary>
    public uint? States { get; init; }
    public IPAddress? Address { get; init; }

    /// <summary>Parses the filter texts; null with a one-line error on a bad one.</summary>
    public static WatchFilter? Parse(string? netns, string? pod, string? container, string? port, string? state, string? address, out string error)
    {
        error = "";
        uint? portValue = null, states = null;
        IPAddress? ip = null;
        if (port != null)
        {
            if (!ushort.TryParse(port, out var p)) { error = $"invalid --port \"{port}\": a number from 0 to 65535"; return null; }
            portValue = p;
        }
        if (state != null)
        {
            if (!TcpStates.TryParse(state, out var mask, out var stateError)) { error = $"invalid --state \"{state}\": {stateError}"; return null; }
            states = mask;
        }
        if (address != null && !IPAddress.TryParse(address, out ip)) { error = $"invalid --addr \"{address}\": an IPv4 or IPv6 address"; return null; }
        return new WatchFilter { Netns = netns, Pod = pod, Container = container, Port = portValue, States = states, Address = ip };
    }

    public bool Matches(XtcpFlatRecord r)
    {
        if (Netns != null && r.Netns != Netns && r.NetnsInode.ToString(System.Globalization.CultureInfo.InvariantCulture) != Netns) return false;
        if (Pod != null && !r.PodUid.StartsWith(Pod, StringComparison.Ordinal)) return false;
        if (Container != null && !r.ContainerId.StartsWith(Container, StringComparison.Ordinal)) return false;
        if (Port is { } port && r.InetDiagMsgSocketSourcePort != port && r.InetDiagMsgSocketDestinationPort != port) return false;
        if (States is { } states && (r.InetDiagMsgState >= 32 || (states & (1u << (int)r.InetDiagMsgState)) == 0)) return false;
        if (Address != null)
        {
            var wanted = Address.IsIPv4MappedToIPv6 ? Address.MapToIPv4().ToString() : Address.ToString();
            if (Text(r, r.InetDiagMsgSocketSource) != wanted && Text(r, r.InetDiagMsgSocketDestination) != wanted) return false;
        }
        return true;
    }

    /// <summary>The record's 16-byte address as text (IPv4 for family 2).</summary>
    public static string Text(XtcpFlatRecord r, Google.Protobuf.ByteString raw)
    {
        if (raw.Length != 16) return "";
        Span<byte> text = stackalloc byte[IpText.MaxLength];
        int n = IpText.Format((byte)r.InetDiagMsgFamily, raw.Span, text);
        return System.Text.Encoding.ASCII.GetString(text[..n]);
    }
}
