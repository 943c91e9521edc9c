#!/usr/bin/env python3
"""Stand-in for `xtcp-epoll collect` used only to exercise the harness plumbing before the real collector
exists: same CLI shape, same metric names, one jsonl line per namespace per poll (netns, netnsInode,
timestampNs). It counts sockets with `ss` (slow: fine for tens of namespaces, not for a measurement)."""
import argparse, http.server, os, signal, subprocess, sys, threading, time

p = argparse.ArgumentParser()
p.add_argument("verb")
for o in ["dest", "marshal", "frequency", "timeout", "jitter-pct", "max-loops", "metrics-listen", "netns-dirs", "workers", "request", "log-level"]:
    p.add_argument("--" + o)
a = p.parse_args()

def dur(s):
    return float(s[:-2]) / 1000 if s.endswith("ms") else float(s[:-1])

freq = dur(a.frequency or "1s")
metrics = {"polls": 0, "last": 0.0, "sockets": 0, "namespaces": 0, "open": 0, "sum": 0.0}
lock = threading.Lock()
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())

class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with lock:
            m = dict(metrics)
        body = (f'xtcp_polls_total{{outcome="complete"}} {m["polls"]}\nxtcp_polls_total{{outcome="timeout"}} 0\n'
                f'xtcp_last_poll_duration_seconds {m["last"]}\nxtcp_last_poll_sockets {m["sockets"]}\n'
                f'xtcp_last_poll_namespaces {m["namespaces"]}\nxtcp_namespaces_open {m["open"]}\n'
                f'xtcp_poll_duration_seconds_sum {m["sum"]}\nxtcp_poll_duration_seconds_count {m["polls"]}\n').encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *args): pass

host, port = a.metrics_listen.rsplit(":", 1)
srv = http.server.ThreadingHTTPServer((host, int(port)), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
out = open(a.dest[5:], "a") if a.dest and a.dest.startswith("file:") else None
loops = 0
while not stop.is_set():
    t0 = time.time(); ts = time.time_ns()
    nss = [("default", None)]
    for d in (a.netns_dirs or "").split(","):
        if os.path.isdir(d):
            nss += [(f, os.path.join(d, f)) for f in sorted(os.listdir(d))]
    total = 0; opened = 0
    for name, path in nss:
        cmd = ["ss", "-tanH"] if path is None else ["nsenter", "--net=" + path, "ss", "-tanH"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0: continue
        opened += 1
        n = len([l for l in r.stdout.splitlines() if l.strip()])
        total += n
        if out and n:
            ino = os.stat(path).st_ino if path else os.stat("/proc/self/ns/net").st_ino
            out.write(f'{{"netns":"{name}","netnsInode":"{ino}","timestampNs":"{ts}"}}\n')
    if out: out.flush()
    d = time.time() - t0
    with lock:
        metrics.update(polls=metrics["polls"] + 1, last=d, sockets=total, namespaces=opened, open=opened - 1, sum=metrics["sum"] + d)
    loops += 1
    if a.max_loops and loops >= int(a.max_loops): break
    stop.wait(max(0, freq - (time.time() - t0)))
print("stand-in collector stopping", file=sys.stderr)
sys.exit(0)
