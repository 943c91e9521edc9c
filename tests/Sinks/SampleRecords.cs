using System.Net;
using XtcpEpoll.Netlink.Parsing;
using XtcpEpoll.Sinks.Records;

namespace XtcpEpoll.Tests.Sinks;

/// <summary>Builds realistic records with many fields set: IPv4 and IPv6, every attribute kind.</summary>
public static class SampleRecords
{
    public static readonly RecordContext Context = new()
    {
        Hostname = "host-ü1",
        Netns = "xt-sinks-ns",
        NetnsInode = 4026531840,
        TimestampNs = 1_763_900_000_123_456_789,
        Label = "lab,el",
        Tag = "t\"ag",
        Location = "dc1\track2",
        DaemonVersion = "0.1.0-test",
        SocketFd = 17,
    };

    /// <summary>A namespace owned by a pod's container (records without a socket-level attribution carry it).</summary>
    public static readonly RecordContext PodNamespaceContext = new()
    {
        Hostname = "host-ü1",
        Netns = "cni-0b6ad24e-7a3c-4e35-9a7f-1f3c2d4e5f60",
        NetnsInode = 4026532999,
        TimestampNs = 1_763_900_000_123_456_789,
        DaemonVersion = "0.1.0-test",
        SocketFd = 18,
        Attribution = RecordAttribution.Create(new string('c', 64), "crio", "0b6ad24e-7a3c-4e35-9a7f-1f3c2d4e5f60",
            "", "web-7d4b9c6f5-x2k8p", "shop"), // a pod's sandbox: pod names, no container name
    };

    /// <summary>Socket-level attributions the samples cycle through (null = the namespace's).</summary>
    public static readonly RecordAttribution?[] SocketAttributions =
    [
        RecordAttribution.Create(new string('d', 64), "docker", ""),
        RecordAttribution.Create(new string('e', 64), "containerd", "5e3a9c0d-1f2b-4a6c-8e0f-1a2b3c4d5e6f",
            "istio-proxy", "api-0", "payments"),
        null,
        null,
    ];

    public static FlatRecord[] Many(int count, int seed = 1)
    {
        var records = new FlatRecord[count];
        for (var i = 0; i < count; i++)
            records[i] = One(i, seed);
        return records;
    }

    public static unsafe FlatRecord One(int i, int seed = 1)
    {
        var rnd = new Random(seed * 7919 + i);
        var s = new ParsedSocket
        {
            MessageType = 20,
            Family = (byte)(i % 2 == 0 ? 2 : 10),
            State = (byte)(i % 12 + 1),
            Timer = (byte)(i % 3),
            Retrans = (byte)(i % 2),
            SourcePort = (ushort)(1024 + i),
            DestinationPort = (ushort)(i % 5 == 0 ? 0 : 443),
            Interface = (uint)(i % 4),
            Cookie = (ulong)rnd.NextInt64(),
            Expires = (uint)rnd.Next(0, 200000),
            RQueue = (uint)rnd.Next(0, 10),
            WQueue = (uint)rnd.Next(0, 100000),
            Uid = (uint)(i % 3 == 0 ? 0 : 1000),
            Inode = (uint)rnd.Next(),
        };
        var src = i % 2 == 0 ? IPAddress.Parse($"10.1.{i % 256}.{(i * 7) % 256}") : IPAddress.Parse($"2001:db8::{i % 65536:x}:0:1");
        var dst = i % 2 == 0 ? IPAddress.Parse("192.168.100.1") : IPAddress.Parse(i % 3 == 0 ? "::ffff:10.0.0.1" : "fe80::1:0:0:1");
        var sb = src.GetAddressBytes();
        var db = dst.GetAddressBytes();
        for (var k = 0; k < sb.Length; k++) s.Source[k] = sb[k];
        for (var k = 0; k < db.Length; k++) s.Destination[k] = db[k];

        var present = AttributeSet.Info | AttributeSet.Cong | AttributeSet.SkMemInfo | AttributeSet.Shutdown;
        if (i % 3 == 0) present |= AttributeSet.MemInfo | AttributeSet.Tos | AttributeSet.Mark | AttributeSet.CgroupId;
        if (i % 4 == 1) present |= AttributeSet.VegasInfo | AttributeSet.ClassId | AttributeSet.SockOpt;
        if (i % 5 == 2) present |= AttributeSet.DctcpInfo;
        if (i % 6 == 3) present |= AttributeSet.BbrInfo;
        if (s.Family == 10) present |= AttributeSet.TClass;
        s.Present = present;

        s.MemInfoRmem = (uint)rnd.Next(); s.MemInfoWmem = (uint)rnd.Next(); s.MemInfoFmem = 0; s.MemInfoTmem = 1;
        s.TcpInfoLength = 248;
        ref var t = ref s.Tcp;
        t.State = s.State; t.CaState = (byte)(i % 5); t.Retransmits = (byte)(i % 2); t.Probes = 0; t.Backoff = 1;
        t.Options = 7; t.SendScale = 7; t.RcvScale = 9; t.DeliveryRateAppLimited = (byte)(i % 2); t.FastOpenClientFailed = 0;
        t.Rto = 204000; t.Ato = 40000; t.SndMss = 1448; t.RcvMss = 536; t.Unacked = (uint)(i % 9); t.Sacked = 0;
        t.Lost = 0; t.Retrans = 0; t.Fackets = 0; t.LastDataSent = (uint)rnd.Next(0, 100000);
        t.LastAckSent = 0; t.LastDataRecv = (uint)rnd.Next(0, 100000); t.LastAckRecv = (uint)rnd.Next(0, 100000);
        t.Pmtu = 1500; t.RcvSsthresh = 64076; t.Rtt = (uint)rnd.Next(20, 200000); t.RttVar = (uint)rnd.Next(1, 50000);
        t.SndSsthresh = 2147483647; t.SndCwnd = 10; t.AdvMss = 1448; t.Reordering = 3; t.RcvRtt = 0; t.RcvSpace = 14480;
        t.TotalRetrans = (uint)(i % 3); t.PacingRate = (ulong)rnd.NextInt64(1, 1L << 40); t.MaxPacingRate = ulong.MaxValue;
        t.BytesAcked = (ulong)rnd.NextInt64(); t.BytesReceived = (ulong)rnd.NextInt64(0, 1L << 33);
        t.SegsOut = (uint)rnd.Next(); t.SegsIn = (uint)rnd.Next(); t.NotSentBytes = 0; t.MinRtt = 17; t.DataSegsIn = 3;
        t.DataSegsOut = 4; t.DeliveryRate = 12345678; t.BusyTime = 1000; t.RwndLimited = 0; t.SndbufLimited = 5;
        t.Delivered = 99; t.DeliveredCe = 0; t.BytesSent = 1L << 35; t.BytesRetrans = 0; t.DsackDups = 0; t.ReordSeen = 1;
        t.RcvOoopack = 0; t.SndWnd = 65535; t.RcvWnd = 65536; t.Rehash = 0; t.TotalRto = 1; t.TotalRtoRecoveries = 1;
        t.TotalRtoTime = 205;

        var names = new[] { "cubic", "bbr", "dctcp", "vegas", "bbr3", "reno" };
        var name = System.Text.Encoding.ASCII.GetBytes(names[i % names.Length]);
        for (var k = 0; k < name.Length; k++) s.CongestionName[k] = name[k];
        s.CongestionNameLength = (byte)name.Length;
        s.CongestionAlgorithm = (i % names.Length) switch
        {
            0 => CongestionAlgorithm.Cubic, 1 => CongestionAlgorithm.Bbr1, 2 => CongestionAlgorithm.Dctcp,
            3 => CongestionAlgorithm.Vegas, 4 => CongestionAlgorithm.Bbr3, _ => CongestionAlgorithm.Unspecified,
        };
        s.TypeOfService = 0x10; s.TrafficClass = (byte)(i % 2 == 1 ? 0x20 : 0);
        s.SkMemInfoRmemAlloc = 0; s.SkMemInfoRcvBuf = 131072; s.SkMemInfoWmemAlloc = (uint)(i * 3); s.SkMemInfoSndBuf = 87040;
        s.SkMemInfoFwdAlloc = 4096; s.SkMemInfoWmemQueued = 0; s.SkMemInfoOptmem = 0; s.SkMemInfoBacklog = 0; s.SkMemInfoDrops = (uint)(i % 7);
        s.ShutdownState = (byte)(i % 4);
        s.VegasInfoEnabled = 1; s.VegasInfoRttCnt = 5; s.VegasInfoRtt = 300; s.VegasInfoMinRtt = 200;
        s.DctcpInfoEnabled = 1; s.DctcpInfoCeState = 0; s.DctcpInfoAlpha = 1024; s.DctcpInfoAbEcn = 3; s.DctcpInfoAbTot = 10;
        s.BbrInfoBwLo = 123456; s.BbrInfoBwHi = 1; s.BbrInfoMinRtt = 55; s.BbrInfoPacingGain = 739; s.BbrInfoCwndGain = 512;
        s.ClassId = 0x10001; s.SockOpt = 0x5; s.CGroup = 0x1_0000_0abc; s.Mark = 3001;

        return new FlatRecord
        {
            Socket = s,
            Context = i % 8 == 2 ? PodNamespaceContext : Context,
            Attribution = SocketAttributions[i % SocketAttributions.Length],
            RecordCounter = (ulong)i,
            NetlinkerId = (ulong)(i % 3),
            DumpIncomplete = i % 10 == 9,
        };
    }
}
