namespace XtcpEpoll.Netlink.Native;

/// <summary>
/// Byte offsets of struct tcp_info fields (include/uapi/linux/tcp.h). The kernel sends only as many
/// bytes as it knows; each size below marks where a kernel generation's struct ends.
/// </summary>
public static class TcpInfoLayout
{
    public const int State = 0, CaState = 1, Retransmits = 2, Probes = 3, Backoff = 4, Options = 5;
    /// <summary>tcpi_snd_wscale:4 (low nibble), tcpi_rcv_wscale:4 (high nibble).</summary>
    public const int WScale = 6;
    /// <summary>tcpi_delivery_rate_app_limited:1 (bit 0), tcpi_fastopen_client_fail:2 (bits 1-2).</summary>
    public const int AppLimitedAndFastOpen = 7;
    public const int Rto = 8, Ato = 12, SndMss = 16, RcvMss = 20;
    public const int Unacked = 24, Sacked = 28, Lost = 32, Retrans = 36, Fackets = 40;
    public const int LastDataSent = 44, LastAckSent = 48, LastDataRecv = 52, LastAckRecv = 56;
    public const int Pmtu = 60, RcvSsthresh = 64, Rtt = 68, RttVar = 72, SndSsthresh = 76, SndCwnd = 80;
    public const int AdvMss = 84, Reordering = 88, RcvRtt = 92, RcvSpace = 96, TotalRetrans = 100;
    public const int PacingRate = 104, MaxPacingRate = 112, BytesAcked = 120, BytesReceived = 128;
    public const int SegsOut = 136, SegsIn = 140, NotSentBytes = 144, MinRtt = 148, DataSegsIn = 152, DataSegsOut = 156;
    public const int DeliveryRate = 160, BusyTime = 168, RwndLimited = 176, SndbufLimited = 184;
    public const int Delivered = 192, DeliveredCe = 196, BytesSent = 200, BytesRetrans = 208;
    public const int DsackDups = 216, ReordSeen = 220, RcvOoopack = 224, SndWnd = 228;
    public const int RcvWnd = 232, Rehash = 236, TotalRto = 240, TotalRtoRecoveries = 242, TotalRtoTime = 244;
    public const int ReceivedCe = 248, DeliveredE1Bytes = 252, DeliveredE0Bytes = 256, DeliveredCeBytes = 260;
    public const int ReceivedE1Bytes = 264, ReceivedE0Bytes = 268, ReceivedCeBytes = 272;
    public const int AccecnFailMode = 276, AccecnOptSeen = 278;

    /// <summary>4.19 (reord_seen), 5.4 (snd_wnd), 6.6 (rehash), 6.10 (total_rto_time), 6.18 (AccECN).</summary>
    public const int SizeV4_19 = 224, SizeV5_4 = 232, SizeV6_6 = 240, SizeV6_10 = 248, SizeV6_18 = 280;

    /// <summary>The newest layout this parser knows; longer payloads are read up to here.</summary>
    public const int KnownSize = SizeV6_18;
}
