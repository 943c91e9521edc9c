#!/usr/bin/env bash
# Reduced proof-at-scale run for CI (issue 6): scale at 1, 10, 100 namespaces, a 60 s churn soak with
# 100 namespaces and a reduced discovery run (issue 19), against the PUBLISHED collector. Self-contained:
# builds the harness, publishes src/Host into artifacts/ci-collector (or takes the one test.sh published:
# XTCP_EPOLL_PUBLISHED), runs every mode, exits non-zero on any FAIL. Needs root (and podman for `containers`). ~7-8 min on 2 cores.
# The full sweep is a manual command (see design/PERFORMANCE.md):
#   dotnet run -c Release --project bench -- scale            (1,10,100,1000,2000 namespaces)
#   dotnet run -c Release --project bench -- churn            (1000 namespaces, 10 min)
#   dotnet run -c Release --project bench -- discovery        (issue 19: 1000 ns x 21, startup 2000 x 40, ~20 min)
#   dotnet run -c Release --project bench -- containers       (issue 25: 50 podman containers, one replaced every 2 s, 1 h)
set -uo pipefail
cd "$(dirname "$0")/.."
out=artifacts/bench-ci
collector_dir=artifacts/ci-collector
mkdir -p "$out"

if [ "$(id -u)" -ne 0 ]; then echo "ci-harness: needs root (creates network namespaces)"; exit 1; fi
dotnet build bench -c Release -nologo -v q >"$out/build.log" 2>&1 || { cat "$out/build.log"; echo "ci-harness: bench build failed"; exit 1; }
if [ -n "${XTCP_EPOLL_PUBLISHED:-}" ]; then
  collector_dir=$XTCP_EPOLL_PUBLISHED # the Native AOT publish the tests ran (an AOT publish costs minutes)
else
  dotnet publish src/Host -c Release -o "$collector_dir" -nologo -v q >"$out/publish.log" 2>&1 \
    || { cat "$out/publish.log"; echo "ci-harness: dotnet publish src/Host failed"; exit 1; }
fi

harness=bench/bin/Release/net10.0/xtcp-epoll-bench
collector="$collector_dir/xtcp-epoll"
rc=0
"$harness" selftest --ns 20 --out "$out" || rc=1
# Poll periods well above what a poll takes on a quiet machine (100 namespaces: ~0.3-0.5 s): CI machines are
# shared, and under others' load (load average 25-30 on 2 cores) a 100-namespace poll was seen to take 2.3 s
# and most churn polls timed out at the default 1 s period (scale then undercounted sockets per poll, churn
# could not judge completeness). These runs check counts, completeness, threads, fds and memory, not poll
# latency; the full sweep and soak keep their default periods.
"$harness" scale --ns 1,10,100 --polls 3 --frequency 4s --collector "$collector" --out "$out" --no-report --quiet-wait 5s || rc=1
# The churn collector serves its control socket (a private path; the daemon's default is on): its
# "threads max - min <= 2" check then covers the control plane's threads too (issue 23: constant from start-up).
control_socket=$(mktemp -u /tmp/xtcp-churn-control-XXXXXX.sock)
"$harness" churn --ns 100 --duration 60s --frequency 5s --timeout 4s --collector "$collector" --out "$out" --no-report --quiet-wait 5s \
  --collector-args="--control-socket $control_socket" || rc=1
# Issue 19 (~40 s): new connections in 10 % of 50 namespaces are in the next poll's records, and a start-up on
# 50 x 40 sockets is complete by the 3rd poll without a deadline miss. The cost cases need 1,000 namespaces to
# mean anything (the host namespace and idle CPU dominate a small run): full run only.
"$harness" discovery --cases discovery,startup --ns 50 --startup-ns 50 --frequency 2s --rounds 2 --startup-polls 3 --collector "$collector" --out "$out" --no-report --quiet-wait 5s || rc=1
# Issue 25 (~3 min): 8 real podman containers of the project image (2 in the host network), one replaced every
# 2 s for 2 min, with attribution, destroy records, threads, fds and RSS checked. The full run is 50 containers
# for 1 h (design/PERFORMANCE.md "Container soak").
"$harness" containers --containers 8 --rate 2s --duration 2m --collector "$collector" --out "$out" --no-report --quiet-wait 5s || rc=1
if [ "$rc" -eq 0 ]; then echo "ci-harness: PASS"; else echo "ci-harness: FAIL (logs and CSV in $out)"; fi
exit "$rc"
