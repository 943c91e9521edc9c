using System.Net.Sockets;
using System.Text;

namespace XtcpEpoll.Tests.Host;

/// <summary>Minimal HTTP/1.1 GET over a socket (no HttpClient handler pools in tests that count threads).</summary>
public static class HttpGet
{
    public static (int Status, string Body) Get(int port, string path)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.ReceiveTimeout = 5000;
        socket.Connect("127.0.0.1", port);
        socket.Send(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n"));
        using var response = new MemoryStream();
        var buffer = new byte[65536];
        int n;
        while ((n = socket.Receive(buffer)) > 0) response.Write(buffer, 0, n);
        var text = Encoding.UTF8.GetString(response.ToArray());
        var status = int.Parse(text.AsSpan(9, 3));
        var bodyStart = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        return (status, bodyStart < 0 ? "" : text[(bodyStart + 4)..]);
    }

    /// <summary>Sends <paramref name="request"/> as is and returns everything the server sent until it closed.</summary>
    public static string Exchange(int port, string request)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.ReceiveTimeout = 5000;
        socket.Connect("127.0.0.1", port);
        socket.Send(Encoding.ASCII.GetBytes(request));
        return Encoding.UTF8.GetString(ReadToEnd(socket));
    }

    /// <summary>Reads until the peer closes (a reset after data counts as the end too).</summary>
    public static byte[] ReadToEnd(Socket socket)
    {
        using var response = new MemoryStream();
        var buffer = new byte[65536];
        try
        {
            int n;
            while ((n = socket.Receive(buffer)) > 0) response.Write(buffer, 0, n);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset && response.Length > 0) { }
        return response.ToArray();
    }

    /// <summary>Value of an unlabelled metric line "name value" in a Prometheus text exposition.</summary>
    public static double? Metric(string exposition, string name)
    {
        foreach (var line in exposition.Split('\n'))
        {
            if (line.StartsWith(name + " ", StringComparison.Ordinal))
                return double.Parse(line.AsSpan(name.Length + 1), System.Globalization.CultureInfo.InvariantCulture);
        }
        return null;
    }

    /// <summary>Sum of every series of a metric (labelled or not).</summary>
    public static double MetricSum(string exposition, string name)
    {
        double sum = 0;
        foreach (var line in exposition.Split('\n'))
        {
            if (!line.StartsWith(name, StringComparison.Ordinal)) continue;
            var rest = line.AsSpan(name.Length);
            if (rest.Length == 0 || (rest[0] != ' ' && rest[0] != '{')) continue;
            var space = line.LastIndexOf(' ');
            sum += double.Parse(line.AsSpan(space + 1), System.Globalization.CultureInfo.InvariantCulture);
        }
        return sum;
    }
}
