using System.Globalization;
using System.Net;

namespace XtcpEpoll.Host.Metrics;

/// <summary>Parses --metrics-listen: "IP:PORT", "[IPv6]:PORT", "localhost:PORT", ":PORT" (all interfaces), "" (off).</summary>
public static class ListenAddress
{
    public static bool TryParse(string text, out IPEndPoint? endpoint, out string error)
    {
        endpoint = null;
        error = "";
        var s = text.Trim();
        if (s.Length == 0) return true; // disabled

        var colon = s.LastIndexOf(':');
        if (colon < 0)
        {
            error = "expected HOST:PORT such as 127.0.0.1:9088, [::1]:9088 or :9088 (empty disables the listener)";
            return false;
        }
        var host = s[..colon];
        var portText = s[(colon + 1)..];
        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            error = "port must be a number from 0 to 65535 (HOST:PORT such as 127.0.0.1:9088)";
            return false;
        }
        IPAddress address;
        if (host.Length == 0) address = IPAddress.IPv6Any;
        else if (host == "localhost") address = IPAddress.Loopback;
        else
        {
            var literal = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
            if (!IPAddress.TryParse(literal, out var parsed) || (literal == host && host.Contains(':')))
            {
                error = "host must be an IP address, [IPv6], localhost, or empty for all interfaces";
                return false;
            }
            address = parsed;
        }
        endpoint = new IPEndPoint(address, port);
        return true;
    }
}
