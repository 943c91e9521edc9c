using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace XtcpEpoll.Tests.Consumers;

/// <summary>
/// A real Prometheus (the Debian package's /usr/bin/prometheus, installed by .ci/run) on 127.0.0.1 with a
/// private TSDB directory, scraping one target every second as job "xtcp-epoll" and evaluating the given rule
/// files every second. Dispose stops it (its own process) and deletes the directory.
/// </summary>
public sealed class PrometheusServer : IDisposable
{
    private readonly Process _process;
    private readonly DirectoryInfo _directory;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _log = new();

    public PrometheusServer(string target, IEnumerable<string> ruleFiles)
    {
        if (ToolProcess.Which("prometheus") == null)
            throw new InvalidOperationException("prometheus is not on PATH: apt-get install --no-install-recommends prometheus (.ci/run does)");
        _directory = Directory.CreateTempSubdirectory("xt-prometheus-");
        var config = Path.Combine(_directory.FullName, "prometheus.yml");
        File.WriteAllText(config, $"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            rule_files:
            {string.Concat(ruleFiles.Select(f => $"  - {f}\n"))}
            scrape_configs:
              - job_name: xtcp-epoll
                static_configs:
                  - targets: ["{target}"]
            """);
        Port = FreePort();
        var psi = new ProcessStartInfo("prometheus")
        {
            ArgumentList =
            {
                "--config.file=" + config,
                "--storage.tsdb.path=" + Path.Combine(_directory.FullName, "data"),
                "--web.listen-address=127.0.0.1:" + Port,
                "--log.level=warn",
            },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        _process = Process.Start(psi)!;
        _process.ErrorDataReceived += (_, e) => { if (e.Data != null) _log.Enqueue(e.Data); };
        _process.OutputDataReceived += (_, e) => { if (e.Data != null) _log.Enqueue(e.Data); };
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
        _http.BaseAddress = new Uri($"http://127.0.0.1:{Port}/");
        WaitUntil(() => Get("-/ready").Status == HttpStatusCode.OK, TimeSpan.FromSeconds(60), "Prometheus ready");
    }

    public int Port { get; }
    public string Log => string.Join('\n', _log);

    /// <summary>Instant query; throws with Prometheus's own error text when the expression does not parse or fails.</summary>
    public JsonElement[] Query(string expr)
    {
        var root = Api("api/v1/query?query=" + Uri.EscapeDataString(expr));
        return root.GetProperty("data").GetProperty("result").EnumerateArray().Select(e => e.Clone()).ToArray();
    }

    /// <summary>GET of an /api/v1 endpoint: its JSON, after checking status "success".</summary>
    public JsonElement Api(string pathAndQuery)
    {
        var (status, body) = Get(pathAndQuery);
        using var doc = JsonDocument.Parse(body.Length == 0 ? "{}" : body);
        var root = doc.RootElement.Clone();
        if (status != HttpStatusCode.OK || root.GetProperty("status").GetString() != "success")
            throw new InvalidOperationException($"Prometheus {pathAndQuery}: HTTP {(int)status}: {body}");
        return root;
    }

    /// <summary>Polls <paramref name="condition"/> until true: Prometheus offers nothing to await but its API.</summary>
    public void WaitUntil(Func<bool> condition, TimeSpan timeout, string what)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited) throw new InvalidOperationException($"prometheus exited ({_process.ExitCode}) while waiting for {what}:\n{Log}");
            try
            {
                if (condition()) return;
            }
            catch (HttpRequestException) { /* not listening yet */ }
            if (watch.Elapsed > timeout) throw new TimeoutException($"timed out waiting for {what}; prometheus log:\n{Log}");
            Thread.Sleep(200);
        }
    }

    private (HttpStatusCode Status, string Body) Get(string pathAndQuery)
    {
        using var response = _http.GetAsync(pathAndQuery).GetAwaiter().GetResult();
        return (response.StatusCode, response.Content.ReadAsStringAsync().GetAwaiter().GetResult());
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited) _process.Kill();
            _process.WaitForExit(10_000);
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
        _http.Dispose();
        try { _directory.Delete(recursive: true); } catch (IOException) { }
    }
}
