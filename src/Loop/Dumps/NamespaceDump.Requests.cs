using XtcpEpoll.Netlink.Native;
using XtcpEpoll.Netlink.Parsing;

namespace XtcpEpoll.Loop.Dumps;

/// <summary>
/// The mechanics of a round (NamespaceDump.cs has the events, NamespaceDump.Rounds.cs the plan): writing its
/// requests with their sequence numbers (the dump's, v2's second family, the lookups riding the first
/// sendmsg), matching lookup answers, and the ends of a namespace's part of the poll (Finish, or Discard while
/// the kernel still runs the dump), where the end is counted. Lane thread only.
/// </summary>
internal sealed partial class NamespaceDump
{
    // ---------------------------------------------------------------- rounds

    /// <summary>Writes the round's first sendmsg: its dump request (if any), then its lookups.</summary>
    private DumpStep BeginRound(RequestRound round)
    {
        if (round.LookupCount > RequestBuffer.MaxLookups)
            throw new InvalidOperationException($"namespace {_name}: {round.LookupCount} lookups do not fit one sendmsg ({RequestBuffer.MaxLookups})");
        _round = round;
        _collecting = round.Collect != KeyScope.None;
        if (round.Kind == RoundKind.ListenerWalk)
        {
            // The walk reports every listener again: those the lookups found are counted once, from the walk.
            _found.Subtract(_foundListenersByLookup);
            _foundListenersByLookup = default;
            _listenersWalked = true;
        }
        else if (round.Kind == RoundKind.Main && round.Dumps) _establishedDumped = true;
        _secondFamily = false;
        _state = DumpState.Dumping;
        var requests = _context.Requests;
        requests.Clear();
        _dumpRunning = round.Dumps;
        if (_dumpRunning) _dumpSeq = AddDump(requests);
        _lookupFirstSeq = requests.LastSequence + 1;
        for (int i = 0; i < round.LookupCount; i++)
            requests.AddLookup(in round.Lookups!.Key(round.LookupStart + i), _context.Settings.IdiagExt);
        _lookupsSent = _lookupsPending = round.LookupCount;
        if (!_dumpRunning && _lookupsPending == 0) return RoundComplete(); // nothing to ask in this round
        return DumpStep.Send;
    }

    /// <summary>The round's dump request again (v2's second family, or v2 after a compat refusal), alone.</summary>
    private DumpStep SendDump()
    {
        var requests = _context.Requests;
        requests.Clear();
        _dumpSeq = AddDump(requests);
        _dumpRunning = true;
        return DumpStep.Send;
    }

    private uint AddDump(RequestBuffer requests) => _useV2
        ? requests.AddV2Dump(_secondFamily ? NetlinkConstants.AF_INET6 : NetlinkConstants.AF_INET, _round.DumpStates, _context.Settings.IdiagExt)
        : requests.AddCompatDump(_round.DumpStates, _context.Settings.IdiagExt);

    private bool IsLookupReply(uint sequence) => _lookupsPending > 0 && sequence - _lookupFirstSeq < (uint)_lookupsSent;

    /// <summary>One answer to a lookup: the socket's record (forwarded), or an error (it is gone or unreachable).</summary>
    private DumpStep OnLookupReply(in DatagramSummary summary, ReadOnlySpan<byte> datagram)
    {
        _lookupsPending--;
        var step = DumpStep.None;
        if (summary.SocketMessages > 0)
        {
            Counts.CountLookup(found: true);
            if (CountsFound) SockDiagReader.CountHashed(datagram, ref _found, ref _foundListenersByLookup);
            step = DumpStep.Forward;
        }
        else
        {
            Counts.CountLookup(found: false);
            _round.Lookups!.Missed(_round.LookupStart + (int)(summary.Sequence - _lookupFirstSeq));
        }
        return _lookupsPending == 0 && !_dumpRunning ? step.Then(RoundComplete()) : step;
    }

    /// <summary>Every answer of the round is in: the next round of the plan, or the namespace is done.</summary>
    private DumpStep RoundComplete()
    {
        if (_collecting)
        {
            _collecting = false;
            RoundCompleted(_round);
        }
        return NextRound(_round) is { } next ? BeginRound(next) : AfterRounds();
    }

    // ---------------------------------------------------------------- ends

    /// <summary>Ends the namespace's part of the poll with nothing left running on the socket.</summary>
    private DumpStep Finish(DumpEnd how)
    {
        _state = DumpState.Idle;
        return Ended(how);
    }

    /// <summary>Ends it while the kernel still runs the dump: drop its replies until its DONE.</summary>
    private DumpStep Discard(DumpEnd how)
    {
        _discardSeq = _dumpSeq;
        _dumpRunning = false;
        _state = DumpState.Discarding;
        return Ended(how);
    }

    private DumpStep Ended(DumpEnd how)
    {
        if (_collecting)
        {
            _collecting = false;
            RoundAborted(_round); // a partial walk is never trusted
        }
        _lookupsPending = 0;
        Counts.CountEnd(how);
        return DumpStep.Ended(how);
    }
}
