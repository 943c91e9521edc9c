using System.Text.RegularExpressions;
using XtcpEpoll.Netlink.Capture;
using XtcpEpoll.Netlink.Parsing;

namespace XtcpEpoll.Tests.Netlink;

/// <summary>Fixture access for the netlink tests: README table, datagrams, whole-capture parsing.</summary>
internal static class FixtureSet
{
    /// <summary>
    /// (relative pcap path, expected complete socket messages) rows of the README's pcap table: a row starts
    /// `| `file.pcap` | count |`; further columns say what the file proves.
    /// </summary>
    public static IReadOnlyList<(string File, int Messages)> ReadmeTable()
    {
        var rows = new List<(string, int)>();
        var row = new Regex(@"^\|\s*`([^`]+\.pcap)`\s*\|\s*(\d+)\s*\|");
        foreach (var line in File.ReadLines(TestPaths.Fixture("README.md")))
        {
            var match = row.Match(line);
            if (match.Success)
                rows.Add((match.Groups[1].Value, int.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture)));
        }
        return rows;
    }

    public static List<byte[]> Datagrams(string relative) => CaptureFile.ReadDatagrams(TestPaths.Fixture(relative)).ToList();

    /// <summary>Parses every datagram; returns the emitted sockets.</summary>
    public static List<ParsedSocket> ParseAll(IEnumerable<byte[]> datagrams, ParseErrorCounters? errors = null)
    {
        var sockets = new List<ParsedSocket>();
        foreach (var datagram in datagrams)
        {
            var reader = new SockDiagReader(datagram, errors);
            var socket = default(ParsedSocket);
            SockDiagItem item;
            while ((item = reader.Next(ref socket)) != SockDiagItem.End)
            {
                if (item == SockDiagItem.Socket)
                    sockets.Add(socket);
            }
        }
        return sockets;
    }
}
