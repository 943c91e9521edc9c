using Google.Protobuf;
using XtcpEpoll.Netlink.Parsing;
using XtcpEpoll.Sinks.Proto;

namespace XtcpEpoll.Sinks.Records;

/// <summary>
/// Builds the generated <see cref="XtcpFlatRecord"/> from a <see cref="FlatRecord"/>, property by
/// property. Written independently of <see cref="FlatRecordFields"/> on purpose: tests compare the
/// hand-written encoder with Google.Protobuf's encoding of this mapping. Allocates (protoJson, tests).
/// </summary>
public static class FlatRecordMapper
{
    public static XtcpFlatRecord ToMessage(in FlatRecord record)
    {
        var c = record.Context;
        var s = record.Socket;
        var owner = record.AttributionOrContext;
        var m = new XtcpFlatRecord
        {
            SchemaVersion = FlatRecordFields.SchemaVersion,
            DaemonVersion = c.DaemonVersion,
            TimestampNs = record.EventTimestampNs != 0 ? record.EventTimestampNs : c.TimestampNs,
            Hostname = c.Hostname,
            Location = c.Location,
            Netns = c.Netns,
            NetnsInode = c.NetnsInode,
            ContainerId = owner.ContainerId,
            ContainerRuntime = owner.ContainerRuntime,
            PodUid = owner.PodUid,
            ContainerName = owner.ContainerName,
            PodName = owner.PodName,
            PodNamespace = owner.PodNamespace,
            Label = c.Label,
            Tag = c.Tag,
            RecordCounter = record.RecordCounter,
            SocketFd = c.SocketFd,
            NetlinkerId = record.NetlinkerId,
            InetDiagMsgFamily = s.Family,
            InetDiagMsgState = s.State,
            InetDiagMsgTimer = s.Timer,
            InetDiagMsgRetrans = s.Retrans,
            InetDiagMsgSocketSourcePort = s.SourcePort,
            InetDiagMsgSocketDestinationPort = s.DestinationPort,
            InetDiagMsgSocketSource = ByteString.CopyFrom(s.SourceField),
            InetDiagMsgSocketDestination = ByteString.CopyFrom(s.DestinationField),
            InetDiagMsgSocketInterface = s.Interface,
            InetDiagMsgSocketCookie = s.Cookie,
            InetDiagMsgExpires = s.Expires,
            InetDiagMsgRqueue = s.RQueue,
            InetDiagMsgWqueue = s.WQueue,
            InetDiagMsgUid = s.Uid,
            InetDiagMsgInode = s.Inode,
            DumpIncomplete = record.DumpIncomplete,
            RecordOrigin = record.RecordOrigin,
            RecordReason = record.RecordReason,
        };
        var p = s.Present;
        if ((p & AttributeSet.MemInfo) != 0)
        {
            m.MemInfoRmem = s.MemInfoRmem;
            m.MemInfoWmem = s.MemInfoWmem;
            m.MemInfoFmem = s.MemInfoFmem;
            m.MemInfoTmem = s.MemInfoTmem;
        }
        if ((p & AttributeSet.Info) != 0)
            MapTcpInfo(m, s.Tcp);
        if ((p & AttributeSet.Cong) != 0)
        {
            var name = s.CongestionNameBytes;
            m.CongestionAlgorithmString = System.Text.Unicode.Utf8.IsValid(name) ? System.Text.Encoding.UTF8.GetString(name) : "";
            m.CongestionAlgorithmEnum = (XtcpFlatRecord.Types.CongestionAlgorithm)(int)s.CongestionAlgorithm;
        }
        if ((p & AttributeSet.Tos) != 0) m.TypeOfService = s.TypeOfService;
        if ((p & AttributeSet.TClass) != 0) m.TrafficClass = s.TrafficClass;
        if ((p & AttributeSet.SkMemInfo) != 0)
        {
            m.SkMemInfoRmemAlloc = s.SkMemInfoRmemAlloc;
            m.SkMemInfoRcvBuf = s.SkMemInfoRcvBuf;
            m.SkMemInfoWmemAlloc = s.SkMemInfoWmemAlloc;
            m.SkMemInfoSndBuf = s.SkMemInfoSndBuf;
            m.SkMemInfoFwdAlloc = s.SkMemInfoFwdAlloc;
            m.SkMemInfoWmemQueued = s.SkMemInfoWmemQueued;
            m.SkMemInfoOptmem = s.SkMemInfoOptmem;
            m.SkMemInfoBacklog = s.SkMemInfoBacklog;
            m.SkMemInfoDrops = s.SkMemInfoDrops;
        }
        if ((p & AttributeSet.Shutdown) != 0) m.ShutdownState = s.ShutdownState;
        if ((p & AttributeSet.VegasInfo) != 0)
        {
            m.VegasInfoEnabled = s.VegasInfoEnabled;
            m.VegasInfoRttCnt = s.VegasInfoRttCnt;
            m.VegasInfoRtt = s.VegasInfoRtt;
            m.VegasInfoMinRtt = s.VegasInfoMinRtt;
        }
        if ((p & AttributeSet.DctcpInfo) != 0)
        {
            m.DctcpInfoEnabled = s.DctcpInfoEnabled;
            m.DctcpInfoCeState = s.DctcpInfoCeState;
            m.DctcpInfoAlpha = s.DctcpInfoAlpha;
            m.DctcpInfoAbEcn = s.DctcpInfoAbEcn;
            m.DctcpInfoAbTot = s.DctcpInfoAbTot;
        }
        if ((p & AttributeSet.BbrInfo) != 0)
        {
            m.BbrInfoBwLo = s.BbrInfoBwLo;
            m.BbrInfoBwHi = s.BbrInfoBwHi;
            m.BbrInfoMinRtt = s.BbrInfoMinRtt;
            m.BbrInfoPacingGain = s.BbrInfoPacingGain;
            m.BbrInfoCwndGain = s.BbrInfoCwndGain;
        }
        if ((p & AttributeSet.ClassId) != 0) m.ClassId = s.ClassId;
        if ((p & AttributeSet.SockOpt) != 0) m.SockOpt = s.SockOpt;
        if ((p & AttributeSet.CgroupId) != 0) m.CGroup = s.CGroup;
        if ((p & AttributeSet.Mark) != 0) m.Mark = s.Mark;
        return m;
    }

    /// <summary>An Envelope holding the mapped records (protoJson, tests).</summary>
    public static Envelope ToEnvelope(ReadOnlySpan<FlatRecord> records)
    {
        var envelope = new Envelope();
        foreach (ref readonly var r in records)
            envelope.Row.Add(ToMessage(in r));
        return envelope;
    }

    private static void MapTcpInfo(XtcpFlatRecord m, in TcpInfo t)
    {
        m.TcpInfoState = t.State;
        m.TcpInfoCaState = t.CaState;
        m.TcpInfoRetransmits = t.Retransmits;
        m.TcpInfoProbes = t.Probes;
        m.TcpInfoBackoff = t.Backoff;
        m.TcpInfoOptions = t.Options;
        m.TcpInfoSendScale = t.SendScale;
        m.TcpInfoRcvScale = t.RcvScale;
        m.TcpInfoDeliveryRateAppLimited = t.DeliveryRateAppLimited;
        m.TcpInfoFastOpenClientFailed = t.FastOpenClientFailed;
        m.TcpInfoRto = t.Rto;
        m.TcpInfoAto = t.Ato;
        m.TcpInfoSndMss = t.SndMss;
        m.TcpInfoRcvMss = t.RcvMss;
        m.TcpInfoUnacked = t.Unacked;
        m.TcpInfoSacked = t.Sacked;
        m.TcpInfoLost = t.Lost;
        m.TcpInfoRetrans = t.Retrans;
        m.TcpInfoFackets = t.Fackets;
        m.TcpInfoLastDataSent = t.LastDataSent;
        m.TcpInfoLastAckSent = t.LastAckSent;
        m.TcpInfoLastDataRecv = t.LastDataRecv;
        m.TcpInfoLastAckRecv = t.LastAckRecv;
        m.TcpInfoPmtu = t.Pmtu;
        m.TcpInfoRcvSsthresh = t.RcvSsthresh;
        m.TcpInfoRtt = t.Rtt;
        m.TcpInfoRttVar = t.RttVar;
        m.TcpInfoSndSsthresh = t.SndSsthresh;
        m.TcpInfoSndCwnd = t.SndCwnd;
        m.TcpInfoAdvMss = t.AdvMss;
        m.TcpInfoReordering = t.Reordering;
        m.TcpInfoRcvRtt = t.RcvRtt;
        m.TcpInfoRcvSpace = t.RcvSpace;
        m.TcpInfoTotalRetrans = t.TotalRetrans;
        m.TcpInfoPacingRate = t.PacingRate;
        m.TcpInfoMaxPacingRate = t.MaxPacingRate;
        m.TcpInfoBytesAcked = t.BytesAcked;
        m.TcpInfoBytesReceived = t.BytesReceived;
        m.TcpInfoSegsOut = t.SegsOut;
        m.TcpInfoSegsIn = t.SegsIn;
        m.TcpInfoNotSentBytes = t.NotSentBytes;
        m.TcpInfoMinRtt = t.MinRtt;
        m.TcpInfoDataSegsIn = t.DataSegsIn;
        m.TcpInfoDataSegsOut = t.DataSegsOut;
        m.TcpInfoDeliveryRate = t.DeliveryRate;
        m.TcpInfoBusyTime = t.BusyTime;
        m.TcpInfoRwndLimited = t.RwndLimited;
        m.TcpInfoSndbufLimited = t.SndbufLimited;
        m.TcpInfoDelivered = t.Delivered;
        m.TcpInfoDeliveredCe = t.DeliveredCe;
        m.TcpInfoBytesSent = t.BytesSent;
        m.TcpInfoBytesRetrans = t.BytesRetrans;
        m.TcpInfoDsackDups = t.DsackDups;
        m.TcpInfoReordSeen = t.ReordSeen;
        m.TcpInfoRcvOoopack = t.RcvOoopack;
        m.TcpInfoSndWnd = t.SndWnd;
        m.TcpInfoRcvWnd = t.RcvWnd;
        m.TcpInfoRehash = t.Rehash;
        m.TcpInfoTotalRto = t.TotalRto;
        m.TcpInfoTotalRtoRecoveries = t.TotalRtoRecoveries;
        m.TcpInfoTotalRtoTime = t.TotalRtoTime;
    }
}
