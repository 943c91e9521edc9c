using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using XtcpEpoll.Netlink.Native;
using static Tmds.Linux.LibC;

namespace XtcpEpoll.Host.Control.Transport;

/// <summary>
/// One accepted control-socket connection as Kestrel sees it: two pipes, whose socket ends live on the
/// <see cref="ControlSocketLoop"/>. Received bytes go into the input pipe until EAGAIN (edge-triggered); a full pipe
/// (Kestrel not reading) stops reading until its flush completes. What Kestrel writes is sent until EAGAIN, the rest
/// when the socket is writable again. Every fd operation runs on the loop; Kestrel's threads only post.
/// </summary>
internal sealed class UnixSocketConnection : ConnectionContext,
    IConnectionIdFeature, IConnectionTransportFeature, IConnectionItemsFeature, IConnectionLifetimeFeature, IConnectionEndPointFeature
{
    private static readonly int Events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    /// <summary>Received bytes waiting for Kestrel before reading stops: a few HTTP/2 frames of the largest request.</summary>
    private static readonly PipeOptions InputOptions = new(pauseWriterThreshold: 1 << 20, resumeWriterThreshold: 1 << 19, useSynchronizationContext: false);
    private const int ReceiveChunk = 16 * 1024;

    private readonly ControlSocketLoop _loop;
    private readonly OwnedFd _fd;
    private readonly Pipe _input, _output;
    private readonly CancellationTokenSource _closed = new();
    private readonly TaskCompletionSource _disposed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly FeatureCollection _features = new();
    private readonly Action _onFlushed, _onOutput;
    private ulong _key;
    private ValueTask<FlushResult> _flush;
    private ValueTask<ReadResult> _read;
    private ReadOnlySequence<byte> _unsent; // what the socket did not take yet (the output reader holds its buffer)
    private bool _sending;                  // _unsent is in use: AdvanceTo is due once it is all sent or closed
    private bool _outputEnded;              // the read being sent was Kestrel's last
    private bool _readPending;              // a ReadAsync waits for Kestrel's next write
    private bool _receivePaused, _inputDone, _closedDown;

    public UnixSocketConnection(ControlSocketLoop loop, OwnedFd fd, EndPoint localEndPoint, string id)
    {
        _loop = loop;
        _fd = fd;
        ConnectionId = id;
        LocalEndPoint = localEndPoint;
        // Kestrel's ends run on the pool; the socket's ends run on the loop.
        _input = new Pipe(new PipeOptions(pauseWriterThreshold: InputOptions.PauseWriterThreshold, resumeWriterThreshold: InputOptions.ResumeWriterThreshold,
            readerScheduler: PipeScheduler.ThreadPool, writerScheduler: loop.Scheduler, useSynchronizationContext: false));
        _output = new Pipe(new PipeOptions(readerScheduler: loop.Scheduler, writerScheduler: PipeScheduler.ThreadPool, useSynchronizationContext: false));
        Transport = new DuplexPipe(_input.Reader, _output.Writer);
        _onFlushed = OnFlushed;
        _onOutput = OnOutput;
        _features.Set<IConnectionIdFeature>(this);
        _features.Set<IConnectionTransportFeature>(this);
        _features.Set<IConnectionItemsFeature>(this);
        _features.Set<IConnectionLifetimeFeature>(this);
        _features.Set<IConnectionEndPointFeature>(this);
    }

    public override string ConnectionId { get; set; }
    public override IFeatureCollection Features => _features;
    public override IDictionary<object, object?> Items { get; set; } = new ConnectionItems();
    public override IDuplexPipe Transport { get; set; }
    public override CancellationToken ConnectionClosed { get => _closed.Token; set => throw new NotSupportedException(); }
    public override EndPoint? LocalEndPoint { get; set; }
    public override EndPoint? RemoteEndPoint { get; set; }

    /// <summary>Loop thread: watch the fd and start sending what Kestrel writes. False (fd closed) when epoll refused it.</summary>
    public bool Start()
    {
        var key = _loop.Watch(_fd, Events, new Ready(this), out _);
        if (key == null)
        {
            _fd.Dispose();
            return false;
        }
        _key = key.Value;
        ReadOutput();
        return true;
    }

    private void OnReady(int events)
    {
        if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) Receive();
        if ((events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0 && _sending && !_closedDown) ResumeSending();
    }

    // ---- socket -> input pipe ----

    private void Receive()
    {
        if (_receivePaused || _inputDone || _closedDown) return;
        var writer = _input.Writer;
        while (true)
        {
            int n = StreamSocket.Receive(_fd, writer.GetMemory(ReceiveChunk).Span);
            if (n > 0)
            {
                writer.Advance(n);
                if (!Flush()) return; // Kestrel is behind: resumed by OnFlushed
                continue;
            }
            if (n == -EAGAIN) return;
            // 0: the peer closed its side; an error: reset. Either way Kestrel sees the end and completes its output.
            _inputDone = true;
            writer.Complete(n == 0 ? null : new ConnectionResetException($"control socket connection: {Errno.Describe(-n)}"));
            return;
        }
    }

    /// <summary>True when reading may go on; false while Kestrel has a full pipe, or has stopped reading.</summary>
    private bool Flush()
    {
        _flush = _input.Writer.FlushAsync();
        if (!_flush.IsCompleted)
        {
            _receivePaused = true;
            _flush.GetAwaiter().UnsafeOnCompleted(_onFlushed); // on the loop (the input's writer scheduler)
            return false;
        }
        return !Flushed();
    }

    /// <summary>Consumes the flush; true when Kestrel no longer reads (input ended).</summary>
    private bool Flushed()
    {
        var result = _flush.GetAwaiter().GetResult();
        if (!result.IsCompleted) return false;
        _inputDone = true;
        _input.Writer.Complete();
        return true;
    }

    private void OnFlushed()
    {
        _receivePaused = false;
        if (Flushed() || _closedDown) return;
        Receive(); // edge-triggered: what arrived meanwhile raised no new event
    }

    // ---- output pipe -> socket ----

    private void ReadOutput()
    {
        while (!_closedDown)
        {
            _read = _output.Reader.ReadAsync();
            if (!_read.IsCompleted)
            {
                _readPending = true;
                _read.GetAwaiter().UnsafeOnCompleted(_onOutput); // on the loop (the output's reader scheduler)
                return;
            }
            if (!Send(_read.GetAwaiter().GetResult())) return;
        }
    }

    private void OnOutput()
    {
        _readPending = false;
        var result = _read.GetAwaiter().GetResult();
        if (_closedDown)
        {
            _output.Reader.AdvanceTo(result.Buffer.End);
            _output.Reader.Complete();
            return;
        }
        if (Send(result)) ReadOutput();
    }

    /// <summary>Sends a read's bytes; true when all went and the next read may start.</summary>
    private bool Send(ReadResult result)
    {
        _unsent = result.Buffer;
        _sending = true;
        _outputEnded = result.IsCompleted || result.IsCanceled;
        return SendUnsent() && !EndIfOutputEnded();
    }

    /// <summary>EPOLLOUT: the rest of a read's bytes, then the next read.</summary>
    private void ResumeSending()
    {
        if (SendUnsent() && !EndIfOutputEnded()) ReadOutput();
    }

    /// <summary>Kestrel completed its output (or it was cancelled to close): the connection is over.</summary>
    private bool EndIfOutputEnded()
    {
        if (!_outputEnded) return false;
        Close(null);
        return true;
    }

    /// <summary>Sends <see cref="_unsent"/>; true when all of it went (and was consumed from the pipe).</summary>
    private bool SendUnsent()
    {
        while (!_unsent.IsEmpty)
        {
            int n = StreamSocket.Send(_fd, _unsent.First.Span);
            if (n == -EAGAIN) return false; // the rest on EPOLLOUT
            if (n < 0)
            {
                Close(new ConnectionResetException($"control socket connection: {Errno.Describe(-n)}"));
                return false;
            }
            _unsent = _unsent.Slice(n);
        }
        _output.Reader.AdvanceTo(_unsent.End);
        _sending = false;
        return true;
    }

    // ---- closing ----

    /// <summary>Loop thread: the fd closes, both pipes end, ConnectionClosed fires (on the pool: its callbacks are Kestrel's).</summary>
    private void Close(Exception? error)
    {
        if (_closedDown) return;
        _closedDown = true;
        _loop.Unwatch(_fd, _key);
        _fd.Dispose();
        if (!_inputDone)
        {
            _inputDone = true;
            if (_receivePaused) _input.Writer.CancelPendingFlush();
            _input.Writer.Complete(error);
        }
        if (_sending)
        {
            _output.Reader.AdvanceTo(_unsent.End);
            _sending = false;
        }
        if (_readPending) _output.Reader.CancelPendingRead(); // OnOutput completes the reader
        else _output.Reader.Complete(error);
        ThreadPool.UnsafeQueueUserWorkItem(static state =>
        {
            var self = (UnixSocketConnection)state!;
            self._closed.Cancel();
            self._disposed.TrySetResult();
        }, this, preferLocal: false);
    }

    public override void Abort(ConnectionAbortedException abortReason)
        => _loop.Post(static state => ((UnixSocketConnection)state!).Close(null), this);

    public override void Abort() => Abort(new ConnectionAbortedException("aborted"));

    /// <summary>Kestrel is done with the connection: closed (if not yet) by the loop.</summary>
    public override ValueTask DisposeAsync()
    {
        Abort();
        return new ValueTask(_disposed.Task);
    }

    private sealed class Ready(UnixSocketConnection connection) : IReadyHandler
    {
        public void OnReady(int events) => connection.OnReady(events);
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }
}
