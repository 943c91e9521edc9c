using System.Runtime.InteropServices;
using System.Text;
using Tmds.Linux;
using Xunit;
using XtcpEpoll.Netlink.Native;
using static Tmds.Linux.LibC;

namespace XtcpEpoll.Tests.Netlink;

/// <summary>
/// Every struct the daemon hands to the kernel, checked twice: against the kernel ABI of the architecture the
/// test runs on (a table with the x86-64 and the arm64 values, from the kernel's uapi and glibc headers), and
/// against the running kernel itself, which writes each struct and must be read back where we expect it.
/// </summary>
public sealed unsafe class NativeLayoutTests
{
    /// <summary>(size, offset of the field that matters) per architecture.</summary>
    private sealed record Layout(string Struct, int Size, string Field, int Offset, int Arm64Size, int Arm64Offset);

    private static readonly Layout[] Abi =
    [
        // epoll_event is __attribute__((packed)) on x86-64 only (EPOLL_PACKED in uapi/linux/eventpoll.h):
        // 4-byte events then the 8-byte data at 4 (12 bytes); arm64 aligns data to 8 (16 bytes).
        new("epoll_event", 12, "data", 4, 16, 8),
        // struct stat: x86-64 has st_nlink (8 bytes) before st_mode, arm64 (asm-generic) the reverse with a
        // 4-byte nlink; both put st_ino at 8 and st_size at 48. 144 vs 128 bytes.
        new("stat.st_ino", 144, "st_ino", 8, 128, 8),
        new("stat.st_size", 144, "st_size", 48, 128, 48),
        new("timespec", 16, "tv_nsec", 8, 16, 8),
        new("itimerspec", 32, "it_value", 16, 32, 16),
        new("inotify_event", 16, "len", 12, 16, 12),
        new("rlimit", 16, "rlim_max", 8, 16, 8),
        new("ifreq", 40, "ifr_flags", 16, 40, 16),
        new("sockaddr_nl", 12, "nl_pid", 4, 12, 4),
        new("nlmsghdr", 16, "nlmsg_seq", 8, 16, 8),
        new("inet_diag_req_v2", 56, "id", 8, 56, 8),
        new("inet_diag_msg", 72, "idiag_inode", 68, 72, 68),
        // The rest of the sock_diag wire is u8/u16/u32 only: the same on every architecture.
        new("inet_diag_sockid", 48, "idiag_if", 36, 48, 36),
        new("inet_diag_req", 60, "idiag_states", 52, 60, 52),
        new("inet_diag_meminfo", 16, "idiag_tmem", 12, 16, 12),
        new("tcpvegas_info", 16, "tcpv_minrtt", 12, 16, 12),
        new("tcp_dctcp_info", 16, "dctcp_ab_tot", 12, 16, 12),
        new("tcp_bbr_info", 20, "bbr_cwnd_gain", 16, 20, 16),
    ];

    private static (int Size, int Offset) Actual(string name) => name switch
    {
        "epoll_event" => (sizeof(epoll_event), Offset<epoll_event>("data")),
        "stat.st_ino" => (sizeof(Tmds.Linux.stat), Offset<Tmds.Linux.stat>("st_ino")),
        "stat.st_size" => (sizeof(Tmds.Linux.stat), Offset<Tmds.Linux.stat>("st_size")),
        "timespec" => (sizeof(timespec), Offset<timespec>("tv_nsec")),
        "itimerspec" => (sizeof(ITimerSpec), Offset<ITimerSpec>(nameof(ITimerSpec.Value))),
        "inotify_event" => (sizeof(InotifyEvent), Offset<InotifyEvent>(nameof(InotifyEvent.Length))),
        "rlimit" => (sizeof(RLimit), Offset<RLimit>(nameof(RLimit.Max))),
        "ifreq" => (sizeof(IfReqFlags), Offset<IfReqFlags>(nameof(IfReqFlags.Flags))),
        "sockaddr_nl" => (sizeof(SockaddrNl), Offset<SockaddrNl>(nameof(SockaddrNl.Pid))),
        "nlmsghdr" => (sizeof(NlMsgHdr), Offset<NlMsgHdr>(nameof(NlMsgHdr.Sequence))),
        "inet_diag_req_v2" => (sizeof(InetDiagReqV2), Offset<InetDiagReqV2>(nameof(InetDiagReqV2.Id))),
        "inet_diag_msg" => (sizeof(InetDiagMsg), Offset<InetDiagMsg>(nameof(InetDiagMsg.Inode))),
        "inet_diag_sockid" => (sizeof(InetDiagSockId), Offset<InetDiagSockId>(nameof(InetDiagSockId.Interface))),
        "inet_diag_req" => (sizeof(InetDiagReqCompat), Offset<InetDiagReqCompat>(nameof(InetDiagReqCompat.States))),
        "inet_diag_meminfo" => (sizeof(InetDiagMemInfo), Offset<InetDiagMemInfo>(nameof(InetDiagMemInfo.Tmem))),
        "tcpvegas_info" => (sizeof(TcpVegasInfo), Offset<TcpVegasInfo>(nameof(TcpVegasInfo.MinRtt))),
        "tcp_dctcp_info" => (sizeof(TcpDctcpInfo), Offset<TcpDctcpInfo>(nameof(TcpDctcpInfo.AbTot))),
        "tcp_bbr_info" => (sizeof(TcpBbrInfo), Offset<TcpBbrInfo>(nameof(TcpBbrInfo.CwndGain))),
        _ => throw new ArgumentException(name),
    };

    private static int Offset<T>(string field) => (int)Marshal.OffsetOf<T>(field);

    [Fact]
    public void Every_struct_has_the_kernel_ABI_layout_of_this_architecture()
    {
        var arch = RuntimeInformation.ProcessArchitecture;
        Assert.True(arch is Architecture.X64 or Architecture.Arm64, $"no ABI table for {arch}: add its column to {nameof(Abi)}");
        foreach (var layout in Abi)
        {
            var expected = arch == Architecture.X64 ? (layout.Size, layout.Offset) : (layout.Arm64Size, layout.Arm64Offset);
            var actual = Actual(layout.Struct);
            Assert.True(expected == actual, $"{layout.Struct} on {arch}: size {actual.Size}, {layout.Field} at {actual.Offset}; the ABI says size {expected.Item1}, at {expected.Item2}");
        }
    }

    [Fact]
    public void The_kernel_writes_epoll_events_where_we_read_them()
    {
        using var epoll = Epoll.Create();
        using var first = EventFd.Create();
        using var second = EventFd.Create();
        const ulong FirstKey = 0x1122334455667788, SecondKey = 0x0102030405060708;
        epoll.Add(first.Handle, FirstKey);
        epoll.Add(second.Handle, SecondKey);
        first.Signal();
        second.Signal();

        // Raw: the kernel fills an array of its own struct; events at 0, data at the ABI offset, one stride apart.
        int stride = sizeof(epoll_event), dataOffset = Offset<epoll_event>("data");
        byte* raw = stackalloc byte[2 * stride];
        int n;
        using (var fd = epoll.Handle.Borrow()) n = epoll_wait(fd.Fd, (epoll_event*)raw, 2, 0);
        Assert.Equal(2, n);
        var keys = new[] { *(ulong*)(raw + dataOffset), *(ulong*)(raw + stride + dataOffset) };
        Assert.Equal(new[] { FirstKey, SecondKey }.Order(), keys.Order());
        Assert.Equal(EPOLLIN, *(int*)raw & EPOLLIN);

        // Through the layer (level-triggered: both still ready).
        Span<epoll_event> events = stackalloc epoll_event[4];
        Assert.Equal(2, epoll.Wait(events, 0));
        Assert.Equal(new[] { FirstKey, SecondKey }.Order(), new[] { Epoll.Key(events[0]), Epoll.Key(events[1]) }.Order());
        Assert.Equal(1ul, first.Drain());
        Assert.Equal(0ul, first.Drain());
    }

    [Fact]
    public void Stat_reads_the_inode_and_size_the_kernel_reports()
    {
        // nsfs: /proc/self/ns/net links to "net:[INODE]", the kernel's own rendering of st_ino.
        string link = new FileInfo(NetNamespace.ProcessPath).LinkTarget!;
        ulong inode = ulong.Parse(link["net:[".Length..^1]);
        Assert.Equal(inode, Files.Stat(NetNamespace.ProcessPath).Inode);
        using (var ns = Files.OpenReadOnly(NetNamespace.ProcessPath, out int errno))
        {
            Assert.True(ns != null, $"errno {errno}");
            Assert.Equal(inode, Files.Stat(ns).Inode);
        }

        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, new byte[12345]);
            var status = Files.Stat(path);
            Assert.Equal(12345, status.Size);
            Assert.NotEqual(0ul, status.Device);
            Assert.Equal(FileStatus.None, Files.Stat(path + ".missing"));
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void A_timerfd_armed_through_itimerspec_reports_the_time_left()
    {
        using var timer = TimerFd.Create();
        Assert.Equal(TimeSpan.Zero, timer.Remaining());
        timer.ArmOnce(TimeSpan.FromSeconds(100)); // it_value at the wrong offset would leave it disarmed
        var left = timer.Remaining();
        Assert.InRange(left, TimeSpan.FromSeconds(90), TimeSpan.FromSeconds(100));
        timer.Disarm();
        Assert.Equal(TimeSpan.Zero, timer.Remaining());
    }

    [Fact]
    public void The_thread_cpu_clock_counts_this_threads_spinning_and_never_exceeds_wall_time()
    {
        // A timespec read at the wrong offsets, or another clock id, would give nonsense or not advance.
        var wall = System.Diagnostics.Stopwatch.StartNew();
        long start = ThreadCpuClock.NowNs(), now = start;
        while (now - start < 5_000_000 && wall.Elapsed < TimeSpan.FromSeconds(30)) now = ThreadCpuClock.NowNs();
        var wallNs = wall.Elapsed.Ticks * 100;
        Assert.InRange(now - start, 5_000_000, wallNs);
    }

    [Fact]
    public void Inotify_events_parse_with_the_header_layout()
    {
        var dir = Directory.CreateTempSubdirectory("xt-inotify-");
        try
        {
            using var inotify = Inotify.Create();
            int wd = inotify.AddWatch(dir.FullName, LibCAdditions.IN_CREATE);
            Assert.True(wd >= 0, $"errno {-wd}");
            File.WriteAllBytes(Path.Combine(dir.FullName, "created-file"), []);
            var buffer = new byte[4096];
            int n = inotify.Read(buffer); // the create is queued before WriteAllBytes returns
            Assert.True(n >= sizeof(InotifyEvent), $"read {n}");
            var header = MemoryMarshal.Read<InotifyEvent>(buffer);
            Assert.Equal(wd, header.Wd);
            Assert.NotEqual(0u, header.Mask & LibCAdditions.IN_CREATE);
            Assert.Equal(n, sizeof(InotifyEvent) + (int)header.Length);
            var name = Encoding.UTF8.GetString(buffer, sizeof(InotifyEvent), (int)header.Length).TrimEnd('\0');
            Assert.Equal("created-file", name);
        }
        finally { dir.Delete(recursive: true); }
    }

    [Fact]
    public void The_kernel_fills_sockaddr_nl_and_ifreq_as_declared()
    {
        using var socket = NetlinkSocket.OpenSockDiag(out int errno);
        Assert.True(socket != null, $"errno {errno}");
        var address = default(SockaddrNl);
        socklen_t length = (uint)sizeof(SockaddrNl);
        using (var fd = socket.Borrow())
            Assert.Equal(0, getsockname(fd.Fd, (sockaddr*)&address, &length));
        Assert.Equal((uint)sizeof(SockaddrNl), (uint)length);
        Assert.Equal(NetlinkConstants.AF_NETLINK, address.Family);
        Assert.NotEqual(0u, address.Pid); // the port id bind() had the kernel assign

        // "lo" is up in the test's namespace and is always IFF_LOOPBACK (0x8).
        Assert.Equal(0, NetInterfaces.GetFlags("lo", out short flags));
        Assert.Equal(0x8, flags & 0x8);
        Assert.Equal(LibCAdditions.IFF_UP, (short)(flags & LibCAdditions.IFF_UP));
    }

    [Fact]
    public void Rlimit_matches_what_proc_reports()
    {
        RLimit limit;
        Assert.Equal(0, LibCAdditions.getrlimit(LibCAdditions.RLIMIT_NOFILE, &limit));
        var line = File.ReadLines("/proc/self/limits").Single(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        var columns = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(ulong.Parse(columns[0]), limit.Current);
        Assert.Equal(ulong.Parse(columns[1]), limit.Max);
    }
}
