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
        var socket = NetlinkSocket.OpenSockDiag(out int errno);
        Assert.True(socket != null, $"errno {errno}");
        int fd = socket.Number;
        try
        {
            // Nothing requested: a non-blocking socket answers at once with EAGAIN.
            Assert.Equal(-LibC.EAGAIN, NetlinkSocket.Receive(socket, new byte[64]));
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
            socket.Dispose();
        }
    }

    [Fact]
    public void The_destroy_event_socket_joins_both_TCP_destroy_groups_with_a_forced_receive_buffer()
    {
        using var socket = NetlinkSocket.OpenDestroyEvents(1 << 20, out int errno);
        Assert.True(socket != null, $"errno {errno}");
        string inode = new FileInfo($"/proc/self/fd/{socket.Number}").LinkTarget!;
        string number = inode[(inode.IndexOf('[') + 1)..^1];
        var row = File.ReadLines("/proc/net/netlink").Skip(1)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Single(c => c[^1] == number);
        Assert.Equal("4", row[1]);                                   // NETLINK_SOCK_DIAG
        Assert.Equal(0b101u, Convert.ToUInt32(row[3], 16));          // groups 1 (inet TCP destroy) and 3 (inet6 TCP destroy)
        Assert.Equal(2L << 20, NetlinkSocket.ReceiveBufferLimit(socket)); // SO_RCVBUFFORCE past rmem_max, doubled by the kernel
        Assert.Equal(0, NetlinkSocket.Drops(socket));
        Assert.Equal(-LibC.EAGAIN, NetlinkSocket.Receive(socket, new byte[64]));
    }

    [Fact]
    public void A_closed_socket_is_never_used_and_a_close_racing_a_call_waits_for_it()
    {
        var socket = NetlinkSocket.OpenSockDiag(out int errno)!;
        Assert.True(socket != null, $"errno {errno}");
        string identity = new FileInfo($"/proc/self/fd/{socket.Number}").LinkTarget!; // "socket:[inode]"

        var lease = socket.Borrow(); // a call in progress on another thread would hold this
        socket.Dispose();
        Assert.False(socket.IsClosed); // close deferred while the call runs
        Assert.Equal(identity, new FileInfo($"/proc/self/fd/{socket.Number}").LinkTarget);
        lease.Dispose();
        // Closed now: the number is free (or already another file, never this socket).
        Assert.True(socket.IsClosed);
        Assert.NotEqual(identity, new FileInfo($"/proc/self/fd/{socket.Number}").LinkTarget);

        Assert.Throws<ObjectDisposedException>(() => NetlinkSocket.Send(socket, new byte[16]));
        Assert.Throws<ObjectDisposedException>(() => NetlinkSocket.Receive(socket, new byte[16]));
        Assert.False(socket.TryBorrow(out _));
        socket.Dispose(); // a second close is a no-op, never close() of a reused number
    }
}
