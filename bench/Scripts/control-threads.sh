#!/bin/bash
# Reproduces design/PERFORMANCE.md "Control plane threads (issue 23)". BINARY: a published xtcp-epoll (Native AOT:
#   dotnet publish src/Host -c Release -o /tmp/aot), run as root. CLIENTS: stream clients (default 10).
# Threads of the daemon (/proc/PID/task, sampled every 0.5 s): the control plane off; on, idle from start; after
# one `ctl get`; streaming to CLIENTS `watch --json` clients; after they left. Each line: min..max over its window.
# usage: bench/Scripts/control-threads.sh BINARY [CLIENTS]
B=$1; N=${2:-10}; D=$(mktemp -d); S=$D/control.sock; M=127.0.0.1:19240
trap 'rm -rf "$D"' EXIT
range() { # PID SAMPLES: "min..max" of the thread count, sampled every 0.5 s
  local min=99999 max=0 n; for i in $(seq $2); do n=$(ls /proc/$1/task | wc -l); ((n < min)) && min=$n; ((n > max)) && max=$n; sleep 0.5; done; echo "$min..$max"
}
names() { for t in /proc/$1/task/*; do cat $t/comm; done | sort | uniq -c | awk '{c=$1; $1=""; printf "%sx%s,", c, $0}'; echo; }
$B collect --dest null --frequency 1s --metrics-listen $M --control-socket "" 2>/dev/null & P=$!
sleep 10; echo "control off, idle (10 s): $(range $P 20)"; names $P; kill -TERM $P; wait $P
$B collect --dest null --frequency 1s --metrics-listen $M --control-socket $S 2>/dev/null & P=$!
for i in $(seq 40); do [ -S $S ] && break; sleep 0.25; done
echo "control on, idle from start (10 s): $(range $P 20)"; names $P
$B ctl get --control-socket $S > /dev/null; echo "after one ctl get (10 s): $(range $P 20)"
W=(); for i in $(seq $N); do $B watch --json --control-socket $S > $D/watch$i.out 2>&1 & W+=($!); done
echo "streaming to $N watch clients (20 s): $(range $P 40)"; names $P
curl -s http://$M/metrics | grep -E '^xtcp_stream_subscribers |^xtcp_stream_records_dropped_total|^xtcp_polls_total\{outcome="(complete|timeout)",trigger="timer"'
kill ${W[@]}; wait ${W[@]} 2>/dev/null
echo "records per client: $(for i in $(seq $N); do wc -l < $D/watch$i.out; done | tr '\n' ' ')"
echo "after the clients left (20 s): $(range $P 40)"; names $P
kill -TERM $P; wait $P; echo "exit $?"
