using System.Collections.Concurrent;
using System.Diagnostics;
using XtcpEpoll.Bench.Harness.Infra;

namespace XtcpEpoll.Bench.Harness.Population;

/// <summary>The harness side of one `hold` child process: pipelined request/reply over its stdin/stdout.</summary>
internal sealed class SocketHolderClient : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<TaskCompletionSource<string>> _pending = new();
    private readonly TaskCompletionSource<int> _hello = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _writeLock = new();
    private readonly Thread _reader;

    public SocketHolderClient(int index)
    {
        Index = index;
        var psi = SelfInvocation.StartInfo("hold");
        psi.RedirectStandardInput = true;
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = false;
        _process = Process.Start(psi) ?? throw new InvalidOperationException("could not start a socket holder");
        _reader = new Thread(ReadReplies) { IsBackground = true, Name = $"holder-{index}-reader" };
        _reader.Start();
        if (!_hello.Task.Wait(TimeSpan.FromSeconds(30)))
            throw new TimeoutException("socket holder did not start within 30 s");
    }

    public int Index { get; }
    public int Pid => _process.Id;
    /// <summary>Sockets this holder keeps open (fd budget accounting done by the caller).</summary>
    public int FdsReserved { get; set; }

    public Task<string> Send(string line)
    {
        var tcs = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_writeLock)
        {
            _pending.Enqueue(tcs);
            _process.StandardInput.WriteLine(line);
            _process.StandardInput.Flush();
        }
        return tcs.Task;
    }

    private void ReadReplies()
    {
        try
        {
            string? line;
            while ((line = _process.StandardOutput.ReadLine()) != null)
            {
                if (line.StartsWith("hello ", StringComparison.Ordinal)) { _hello.TrySetResult(0); continue; }
                if (_pending.TryDequeue(out var tcs)) tcs.TrySetResult(line);
            }
        }
        catch (Exception) { /* the process is going away; pending requests fail below */ }
        var gone = new IOException($"socket holder {Index} (pid {_process.Id}) exited");
        _hello.TrySetException(gone);
        while (_pending.TryDequeue(out var tcs)) tcs.TrySetException(gone);
    }

    public void Dispose()
    {
        try { _process.StandardInput.Close(); } catch (IOException) { }
        if (!_process.WaitForExit(TimeSpan.FromSeconds(10)))
        {
            try { _process.Kill(); } catch (InvalidOperationException) { }
            _process.WaitForExit(TimeSpan.FromSeconds(5));
        }
        _process.Dispose();
    }
}
