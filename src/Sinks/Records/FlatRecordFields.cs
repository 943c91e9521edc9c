using System.Runtime.CompilerServices;
using XtcpEpoll.Netlink.Parsing;

namespace XtcpEpoll.Sinks.Records;

/// <summary>
/// The one list of which <see cref="FlatRecord"/> value goes into which proto field of
/// xtcp_flat_record.v1.XtcpFlatRecord, in field-number order (the order protobuf writers emit).
/// Attribute groups are visited only when the kernel sent the attribute, so a record never carries
/// values of an attribute it did not receive. container_id, container_runtime, container_name, pod_uid,
/// pod_name and pod_namespace come from the record's attribution (its socket's cgroup, else its namespace);
/// container_image and the uplink enrichment fields are not filled.
/// </summary>
public static class FlatRecordFields
{
    public const uint SchemaVersion = 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Visit<TVisitor>(ref TVisitor v, in FlatRecord record) where TVisitor : struct, IRecordFieldVisitor, allows ref struct
    {
        var context = record.Context;
        var text = context.Utf8;
        var owner = record.Attribution ?? context.Attribution;
        // Not `ref readonly`: ParsedSocket's span properties are not readonly members, and calling them
        // through a readonly ref would copy the whole struct per call.
        ref var s = ref Unsafe.AsRef(in record.Socket);
        v.UInt32(1, SchemaVersion);
        v.String(2, text.DaemonVersion);
        v.Int64(10, record.TimestampNs);
        v.String(20, text.Hostname);
        v.String(21, text.Location);
        v.String(30, text.Netns);
        v.UInt64(31, context.NetnsInode);
        v.String(40, owner.ContainerIdUtf8);
        v.String(41, owner.ContainerRuntimeUtf8);
        v.String(42, owner.ContainerNameUtf8);
        v.String(50, text.Label);
        v.String(51, text.Tag);
        v.UInt64(60, record.RecordCounter);
        v.UInt64(61, context.SocketFd);
        v.UInt64(62, record.NetlinkerId);

        v.UInt32(1001, s.Family);
        v.UInt32(1002, s.State);
        v.UInt32(1003, s.Timer);
        v.UInt32(1004, s.Retrans);
        v.UInt32(1005, s.SourcePort);
        v.UInt32(1006, s.DestinationPort);
        v.Address(1007, s.Family, s.SourceField);
        v.Address(1008, s.Family, s.DestinationField);
        v.UInt32(1009, s.Interface);
        v.UInt64(1010, s.Cookie);
        v.UInt32(1013, s.Expires);
        v.UInt32(1014, s.RQueue);
        v.UInt32(1015, s.WQueue);
        v.UInt32(1016, s.Uid);
        v.UInt32(1017, s.Inode);

        var present = s.Present;
        if ((present & AttributeSet.MemInfo) != 0)
        {
            v.UInt32(1101, s.MemInfoRmem);
            v.UInt32(1102, s.MemInfoWmem);
            v.UInt32(1103, s.MemInfoFmem);
            v.UInt32(1104, s.MemInfoTmem);
        }
        if ((present & AttributeSet.Info) != 0)
            v = VisitTcpInfo(v, in s.Tcp);
        if ((present & AttributeSet.Cong) != 0)
        {
            v.String(1300, CongestionName(ref s));
            v.Enum(1301, (int)s.CongestionAlgorithm);
        }
        if ((present & AttributeSet.Tos) != 0)
            v.UInt32(1401, s.TypeOfService);
        if ((present & AttributeSet.TClass) != 0)
            v.UInt32(1402, s.TrafficClass);
        if ((present & AttributeSet.SkMemInfo) != 0)
        {
            v.UInt32(1501, s.SkMemInfoRmemAlloc);
            v.UInt32(1502, s.SkMemInfoRcvBuf);
            v.UInt32(1503, s.SkMemInfoWmemAlloc);
            v.UInt32(1504, s.SkMemInfoSndBuf);
            v.UInt32(1505, s.SkMemInfoFwdAlloc);
            v.UInt32(1506, s.SkMemInfoWmemQueued);
            v.UInt32(1507, s.SkMemInfoOptmem);
            v.UInt32(1508, s.SkMemInfoBacklog);
            v.UInt32(1509, s.SkMemInfoDrops);
        }
        if ((present & AttributeSet.Shutdown) != 0)
            v.UInt32(1600, s.ShutdownState);
        if ((present & AttributeSet.VegasInfo) != 0)
        {
            v.UInt32(1701, s.VegasInfoEnabled);
            v.UInt32(1702, s.VegasInfoRttCnt);
            v.UInt32(1703, s.VegasInfoRtt);
            v.UInt32(1704, s.VegasInfoMinRtt);
        }
        if ((present & AttributeSet.DctcpInfo) != 0)
        {
            v.UInt32(1801, s.DctcpInfoEnabled);
            v.UInt32(1802, s.DctcpInfoCeState);
            v.UInt32(1803, s.DctcpInfoAlpha);
            v.UInt32(1804, s.DctcpInfoAbEcn);
            v.UInt32(1805, s.DctcpInfoAbTot);
        }
        if ((present & AttributeSet.BbrInfo) != 0)
        {
            v.UInt32(1901, s.BbrInfoBwLo);
            v.UInt32(1902, s.BbrInfoBwHi);
            v.UInt32(1903, s.BbrInfoMinRtt);
            v.UInt32(1904, s.BbrInfoPacingGain);
            v.UInt32(1905, s.BbrInfoCwndGain);
        }
        if ((present & AttributeSet.ClassId) != 0)
            v.UInt32(2001, s.ClassId);
        if ((present & AttributeSet.SockOpt) != 0)
            v.UInt32(2002, s.SockOpt);
        if ((present & AttributeSet.CgroupId) != 0)
            v.UInt64(2103, s.CGroup);
        if ((present & AttributeSet.Mark) != 0)
            v.UInt32(3001, s.Mark);
        v.Bool(3002, record.DumpIncomplete);
        v.UInt32(3003, record.RecordOrigin);
        v.String(3004, owner.PodUidUtf8);
        v.String(3005, owner.PodNameUtf8);
        v.String(3006, owner.PodNamespaceUtf8);
        v.UInt32(3007, record.RecordReason);
    }

    /// <summary>
    /// The congestion name if it is valid UTF-8 (kernel module names are ASCII), else empty: a proto3
    /// string must be UTF-8 or consumers (and JSON writers) reject the whole envelope.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ReadOnlySpan<byte> CongestionName(ref ParsedSocket socket)
    {
        var name = socket.CongestionNameBytes;
        return System.Text.Unicode.Utf8.IsValid(name) ? name : default;
    }

    // The visitor travels by value (and comes back) rather than by ref: the JIT then keeps its fields
    // (the running size or write position) in registers instead of a load/store per field, which
    // otherwise serialises ~60 fields on store-to-load forwarding. (This method is too big to inline.)
    private static TVisitor VisitTcpInfo<TVisitor>(TVisitor v, in TcpInfo t) where TVisitor : struct, IRecordFieldVisitor, allows ref struct
    {
        v.UInt32(1201, t.State);
        v.UInt32(1202, t.CaState);
        v.UInt32(1203, t.Retransmits);
        v.UInt32(1204, t.Probes);
        v.UInt32(1205, t.Backoff);
        v.UInt32(1206, t.Options);
        v.UInt32(1207, t.SendScale);
        v.UInt32(1208, t.RcvScale);
        v.UInt32(1209, t.DeliveryRateAppLimited);
        v.UInt32(1210, t.FastOpenClientFailed);
        v.UInt32(1215, t.Rto);
        v.UInt32(1216, t.Ato);
        v.UInt32(1217, t.SndMss);
        v.UInt32(1218, t.RcvMss);
        v.UInt32(1219, t.Unacked);
        v.UInt32(1220, t.Sacked);
        v.UInt32(1221, t.Lost);
        v.UInt32(1222, t.Retrans);
        v.UInt32(1223, t.Fackets);
        v.UInt32(1224, t.LastDataSent);
        v.UInt32(1225, t.LastAckSent);
        v.UInt32(1226, t.LastDataRecv);
        v.UInt32(1227, t.LastAckRecv);
        v.UInt32(1228, t.Pmtu);
        v.UInt32(1229, t.RcvSsthresh);
        v.UInt32(1230, t.Rtt);
        v.UInt32(1231, t.RttVar);
        v.UInt32(1232, t.SndSsthresh);
        v.UInt32(1233, t.SndCwnd);
        v.UInt32(1234, t.AdvMss);
        v.UInt32(1235, t.Reordering);
        v.UInt32(1236, t.RcvRtt);
        v.UInt32(1237, t.RcvSpace);
        v.UInt32(1238, t.TotalRetrans);
        v.UInt64(1239, t.PacingRate);
        v.UInt64(1240, t.MaxPacingRate);
        v.UInt64(1241, t.BytesAcked);
        v.UInt64(1242, t.BytesReceived);
        v.UInt32(1243, t.SegsOut);
        v.UInt32(1244, t.SegsIn);
        v.UInt32(1245, t.NotSentBytes);
        v.UInt32(1246, t.MinRtt);
        v.UInt32(1247, t.DataSegsIn);
        v.UInt32(1248, t.DataSegsOut);
        v.UInt64(1249, t.DeliveryRate);
        v.UInt64(1250, t.BusyTime);
        v.UInt64(1251, t.RwndLimited);
        v.UInt64(1252, t.SndbufLimited);
        v.UInt32(1253, t.Delivered);
        v.UInt32(1254, t.DeliveredCe);
        v.UInt64(1255, t.BytesSent);
        v.UInt64(1256, t.BytesRetrans);
        v.UInt32(1257, t.DsackDups);
        v.UInt32(1258, t.ReordSeen);
        v.UInt32(1259, t.RcvOoopack);
        v.UInt32(1260, t.SndWnd);
        v.UInt32(1261, t.RcvWnd);
        v.UInt32(1262, t.Rehash);
        v.UInt32(1263, t.TotalRto);
        v.UInt32(1264, t.TotalRtoRecoveries);
        v.UInt32(1265, t.TotalRtoTime);
        return v;
    }
}
