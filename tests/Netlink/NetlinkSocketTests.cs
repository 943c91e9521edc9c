using System.Globalization;
using Tmds.Linux;
using Xunit;
using XtcpEpoll.Netlink.Native;

namespace XtcpEpoll.Tests.Netlink;

public class NetlinkSocketTests
{
    [Fact]
    public void OpenSockDiagIsNonBlockingCloexecAndBound()
    {
        int fd = NetlinkSocket.OpenSockDiag();
        Assert.True(fd >= 0, $"errno {-fd}");
        try
        {
            // Nothing requested: a non-blocking socket answers at once with EAGAIN.
            Assert.Equal(-LibC.EAGAIN, NetlinkSocket.Receive(fd, new byte[64]));
            var flagsLine = File.ReadLines($"/proc/self/fdinfo/{fd}").First(l => l.StartsWith("flags:", StringComparison.Ordinal));
            int flags = Convert.ToInt32(flagsLine["flags:".Length..].Trim(), 8);
            Assert.NotEqual(0, flags & LibC.O_NONBLOCK);
            Assert.NotEqual(0, flags & LibC.O_CLOEXEC);
            // Bound: the kernel assigned a netlink port id, visible in /proc/net/netlink (Eth column = protocol 4).
            string inode = new FileInfo($"/proc/self/fd/{fd}").LinkTarget!; // "socket:[12345]"
            string number = inode[(inode.IndexOf('[') + 1)..^1];
            var row = File.ReadLines("/proc/net/netlink").Skip(1)
                .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Single(c => c[^1] == number);
            Assert.Equal("4", row[1]);                                   // NETLINK_SOCK_DIAG
            // Port id assigned by bind: a u32 (the kernel prints it with %u). The first socket of a process gets
            // its pid; later ones get ids counted down from -4096, printed above int.MaxValue.
            Assert.NotEqual(0u, uint.Parse(row[2], CultureInfo.InvariantCulture));
        }
        finally
        {
            Assert.Equal(0, NetlinkSocket.Close(fd));
        }
    }
}
