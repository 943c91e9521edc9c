#!/bin/bash
# Reproduces design/PERFORMANCE.md "Control plane threads (issue 23)". BINARY: a published xtcp-epoll (Native AOT:
#   dotnet publish src/Host -c Release -r linux-x64 -p:PublishAot=true -o /tmp/aot), run as root.
# Threads of the daemon: idle with the control plane off, on, and streaming to 10 `watch` clients.
# usage: bench/Scripts/control-threads.sh BINARY
B=$1; S=$(mktemp -d)/control.sock; rm -f $S
count() { ls /proc/$1/task | wc -l; }
names() { for t in /proc/$1/task/*; do cat $t/comm; done | sort | uniq -c | awk '{printf "%s%s ", $1"x", substr($0, index($0,$2))}'; echo; }
$B collect --dest null --frequency 1s --metrics-listen 127.0.0.1:19240 --control-socket "" 2>/dev/null & P=$!
sleep 30; echo "control off, idle 30s: $(count $P)"; names $P; kill -TERM $P; wait $P
$B collect --dest null --frequency 1s --metrics-listen 127.0.0.1:19240 --control-socket $S 2>/dev/null & P=$!
sleep 30; echo "control on, idle 30s: $(count $P)"; names $P
$B ctl get --control-socket $S > /dev/null; sleep 30; echo "control on, 30s after one ctl get: $(count $P)"; names $P
W=(); for i in $(seq 10); do $B watch --json --control-socket $S > /dev/null 2>&1 & W+=($!); done
max=0; for i in $(seq 20); do sleep 1; n=$(count $P); [ $n -gt $max ] && max=$n; done
echo "streaming to 10 watch clients (20 s, max): $max; subscribers: $(curl -s 127.0.0.1:19240/metrics | grep '^xtcp_stream_subscribers ')"; names $P
curl -s 127.0.0.1:19240/metrics | grep -E '^xtcp_stream_records_dropped_total|^xtcp_polls_total\{outcome="complete",trigger="timer"'
kill ${W[@]}; wait ${W[@]} 2>/dev/null
sleep 30; echo "clients gone, 30s later: $(count $P)"; names $P
kill -TERM $P; wait $P
