using Xunit;
using XtcpEpoll.Netlink.Native;
using XtcpEpoll.Netlink.Parsing;
using static XtcpEpoll.Tests.Netlink.DatagramBuilder;

namespace XtcpEpoll.Tests.Netlink;

public class ParserEdgeCaseTests
{
    private static (List<SockDiagItem> Items, List<ParsedSocket> Sockets, int ErrorNumber, bool Interrupted) Walk(byte[] datagram, ParseErrorCounters errors)
    {
        var reader = new SockDiagReader(datagram, errors);
        var items = new List<SockDiagItem>();
        var sockets = new List<ParsedSocket>();
        var socket = default(ParsedSocket);
        SockDiagItem item;
        while ((item = reader.Next(ref socket)) != SockDiagItem.End)
        {
            items.Add(item);
            if (item == SockDiagItem.Socket) sockets.Add(socket);
        }
        return (items, sockets, reader.ErrorNumber, reader.DumpInterrupted);
    }

    [Fact]
    public void InetDiagMsgFieldsAndCookie()
    {
        var datagram = new DatagramBuilder().Socket(7, 5555, 443).Done(7).ToArray();
        var (items, sockets, _, _) = Walk(datagram, new ParseErrorCounters());
        Assert.Equal([SockDiagItem.Socket, SockDiagItem.Done], items);
        var s = sockets[0];
        Assert.Equal((5555, 443, 2, 4242u, 7u), (s.SourcePort, s.DestinationPort, s.Family, s.Inode, s.Sequence));
        Assert.Equal(0x5566778811223344UL, s.Cookie);
        Assert.Equal(new byte[] { 127, 0, 0, 1 }, s.SourceAddress.ToArray());
        Assert.Equal(AttributeSet.None, s.Present);
    }

    [Fact]
    public void AckIsNotAnErrorAndNegativeErrorIsSurfaced()
    {
        var errors = new ParseErrorCounters();
        var ack = Walk(new DatagramBuilder().Error(1, 0).Done(1).ToArray(), errors);
        Assert.Equal([SockDiagItem.Done], ack.Items);
        Assert.Equal(0, ack.ErrorNumber);

        var failed = new DatagramBuilder().Error(2, -1).ToArray(); // -EPERM
        var result = Walk(failed, errors);
        Assert.Equal([SockDiagItem.Error], result.Items);
        Assert.Equal(1, result.ErrorNumber);
        var summary = SockDiagReader.Summarize(failed);
        Assert.Equal(1, summary.ErrorNumber);
        Assert.True(summary.EndsDump);
        Assert.Equal(0, errors.Total);
    }

    [Fact]
    public void DoneCarryingNegativeCodeIsAnError()
    {
        var datagram = new DatagramBuilder().Socket(3, 1, 2).Done(3, code: -4).ToArray(); // -EINTR
        var result = Walk(datagram, new ParseErrorCounters());
        Assert.Equal([SockDiagItem.Socket, SockDiagItem.Error], result.Items);
        Assert.Equal(4, result.ErrorNumber);
        var summary = SockDiagReader.Summarize(datagram);
        Assert.True(summary.Done);
        Assert.Equal(4, summary.ErrorNumber);
        Assert.Equal(1, summary.SocketMessages);
    }

    [Fact]
    public void DumpInterruptedIsFlagged()
    {
        var datagram = new DatagramBuilder()
            .Socket(9, 1, 2)
            .Socket(9, 3, 4, flags: NetlinkConstants.NLM_F_MULTI | NetlinkConstants.NLM_F_DUMP_INTR)
            .Done(9, flags: NetlinkConstants.NLM_F_MULTI | NetlinkConstants.NLM_F_DUMP_INTR).ToArray();
        var result = Walk(datagram, new ParseErrorCounters());
        Assert.True(result.Interrupted);
        Assert.Equal(2, result.Sockets.Count);
        var summary = SockDiagReader.Summarize(datagram);
        Assert.True(summary.DumpInterrupted);
        Assert.Equal(9u, summary.Sequence);
        Assert.False(SockDiagReader.Summarize(new DatagramBuilder().Socket(9, 1, 2).ToArray()).DumpInterrupted);
    }

    [Fact]
    public void CompatRepliesNoopAndUnknownTypes()
    {
        var errors = new ParseErrorCounters();
        var datagram = new DatagramBuilder()
            .Message(NetlinkConstants.NLMSG_NOOP, 0, 1, [])
            .Message(99, 0, 1, [1, 2, 3, 4, 5])
            .Socket(1, 10, 20, type: NetlinkConstants.TCPDIAG_GETSOCK, family: NetlinkConstants.AF_INET6)
            .Done(1).ToArray();
        var result = Walk(datagram, errors);
        Assert.Equal([SockDiagItem.Socket, SockDiagItem.Done], result.Items);
        Assert.Equal(NetlinkConstants.TCPDIAG_GETSOCK, result.Sockets[0].MessageType);
        Assert.Equal(16, result.Sockets[0].SourceAddress.Length);
        Assert.Equal(1, errors.Get(ParseErrorKind.UnexpectedMessageType));
    }

    [Fact]
    public void MarkUnknownAndFlaggedAttributes()
    {
        var nestedFlag = (ushort)(0x8000 | InetDiagAttribute.Tos);
        var datagram = new DatagramBuilder().Socket(1, 1, 2, attributes:
        [
            Attribute(InetDiagAttribute.Mark, BitConverter.GetBytes(0xBEEFu)),
            Attribute(99, [1, 2, 3]),
            Attribute(nestedFlag, [0x48]),
            Attribute(InetDiagAttribute.CgroupId, BitConverter.GetBytes(77UL)),
        ]).ToArray();
        var errors = new ParseErrorCounters();
        var s = Assert.Single(Walk(datagram, errors).Sockets);
        Assert.Equal(0xBEEFu, s.Mark);
        Assert.Equal(0x48, s.TypeOfService);
        Assert.Equal(77UL, s.CGroup);
        Assert.Equal(AttributeSet.Mark | AttributeSet.Tos | AttributeSet.CgroupId, s.Present);
        Assert.Equal(0, errors.Total);
    }

    [Fact]
    public void UnwantedAttributesAreNotDecoded()
    {
        var datagram = new DatagramBuilder().Socket(1, 1, 2, attributes:
        [
            Attribute(InetDiagAttribute.Mark, BitConverter.GetBytes(0xBEEFu)),
            Attribute(InetDiagAttribute.CgroupId, BitConverter.GetBytes(77UL)),
            Attribute(InetDiagAttribute.Tos, [0x48]),
        ]).ToArray();
        var reader = new SockDiagReader(datagram, null, AttributeSet.Tos | AttributeSet.Info);
        var socket = default(ParsedSocket);
        Assert.Equal(SockDiagItem.Socket, reader.Next(ref socket));
        Assert.Equal(AttributeSet.Tos, socket.Present);
        Assert.Equal((0u, 0UL, (byte)0x48), (socket.Mark, socket.CGroup, socket.TypeOfService));
    }

    [Theory]
    [InlineData(ParseErrorKind.AttributeLengthTooSmall)]
    [InlineData(ParseErrorKind.TruncatedAttribute)]
    [InlineData(ParseErrorKind.AttributeTooShortForType)]
    [InlineData(ParseErrorKind.TruncatedInetDiagMsg)]
    public void DamagedMessageIsCountedSkippedAndTheRestUsed(ParseErrorKind kind)
    {
        var builder = new DatagramBuilder();
        switch (kind)
        {
            case ParseErrorKind.AttributeLengthTooSmall:
                builder.Socket(1, 1, 1, attributes: [Attribute(InetDiagAttribute.Tos, [1], lengthOverride: 2)]); break;
            case ParseErrorKind.TruncatedAttribute:
                builder.Socket(1, 1, 1, attributes: [Attribute(InetDiagAttribute.Tos, [1], lengthOverride: 200)]); break;
            case ParseErrorKind.AttributeTooShortForType:
                builder.Socket(1, 1, 1, attributes: [Attribute(InetDiagAttribute.SkMemInfo, [1, 2])]); break;
            case ParseErrorKind.TruncatedInetDiagMsg:
                builder.Message(NetlinkConstants.SOCK_DIAG_BY_FAMILY, 2, 1, new byte[40]); break;
        }
        var datagram = builder.Socket(1, 2, 2).Done(1).ToArray();
        var errors = new ParseErrorCounters();
        var result = Walk(datagram, errors);
        Assert.Equal([SockDiagItem.Socket, SockDiagItem.Done], result.Items);
        Assert.Equal(2, result.Sockets[0].SourcePort);
        Assert.Equal(1, errors.Get(kind));
        Assert.Equal(1, errors.Total);
    }

    [Theory]
    [InlineData(ParseErrorKind.LengthTooSmall)]
    [InlineData(ParseErrorKind.LengthOverflow)]
    [InlineData(ParseErrorKind.TruncatedHeader)]
    public void UntrustworthyLengthEndsTheDatagram(ParseErrorKind kind)
    {
        var builder = new DatagramBuilder().Socket(1, 1, 1);
        switch (kind)
        {
            case ParseErrorKind.LengthTooSmall: builder.Message(20, 2, 1, new byte[88], lengthOverride: 8).Socket(1, 2, 2); break;
            case ParseErrorKind.LengthOverflow: builder.Message(20, 2, 1, new byte[88], lengthOverride: 4000); break;
            case ParseErrorKind.TruncatedHeader: builder.Raw(1, 2, 3, 4, 5, 6, 7, 8); break;
        }
        var errors = new ParseErrorCounters();
        var result = Walk(builder.ToArray(), errors);
        Assert.Equal([SockDiagItem.Socket], result.Items);
        Assert.Equal(1, errors.Get(kind));
    }

    [Fact]
    public void EmptyDatagramIsEnd()
    {
        var socket = default(ParsedSocket);
        var reader = new SockDiagReader([], null);
        Assert.Equal(SockDiagItem.End, reader.Next(ref socket));
        Assert.Equal(default, SockDiagReader.Summarize([]));
    }
}
