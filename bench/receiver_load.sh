#!/usr/bin/env bash
# Throughput of the SkyWalking receivers (`l7conform serve`) on loopback, with
# the server's own count as a cross-check that nothing was lost:
#   HTTP: wrk POSTs a Java-agent-shaped segment with 3 spans
#         (corpus/skywalking/java-http.json) to /v3/segments, one per request;
#   gRPC: build/bench/l7_grpc_load streams the same segment over collect, as
#         the agents do (a stream per batch of SEGMENTS_PER_STREAM).
# Records go to /dev/null, so this measures the transport, mapping and the
# JSON Lines writer (flushed before every answer), not a disk.
#
# usage: bench/receiver_load.sh [BUILD_DIR] [DURATION] [CONNECTIONS] [THREADS] [SEGMENTS_PER_STREAM]
#        defaults: build 10s 50 2 50; CONNECTIONS and THREADS are wrk's, the
#        gRPC driver uses THREADS*2 connections (each a thread of its own)
# Each server is started on a free port (127.0.0.1:0), stopped with SIGTERM by
# its PID (SIGKILL if it will not exit). Either half is skipped, saying so,
# when its client (wrk, or l7_grpc_load: gRPC not built) is missing.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
duration=${2:-10s}
connections=${3:-50}
threads=${4:-2}
per_stream=${5:-50}
bin=$build/l7conform
driver=$build/bench/l7_grpc_load
segment=$root/corpus/skywalking/java-http.json
spans_per_request=3

[[ -x $bin ]] || { echo "receiver_load.sh: no $bin (build l7conform first)" >&2; exit 1; }

tmp=$(mktemp -d)
pid=
stop_server() {
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=
}
trap 'stop_server; rm -rf "$tmp"' EXIT

# start_server PATTERN ARGS...: serve in the background; sets $port from the
# stderr line PATTERN matches (at most 10 s).
start_server() {
  local pattern=$1
  shift
  : >"$tmp/serve.err"  # before the job: its own redirection may come after the first sed
  "$bin" serve "$@" -o /dev/null 2>"$tmp/serve.err" &
  pid=$!
  port=
  for _ in $(seq 100); do
    port=$(sed -n "s/.*$pattern 127\.0\.0\.1:\([0-9]*\).*/\1/p" "$tmp/serve.err")
    [[ -n $port ]] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  [[ -n $port ]] || { echo "receiver_load.sh: serve did not start:" >&2; cat "$tmp/serve.err" >&2; exit 1; }
}

if command -v wrk >/dev/null; then
  start_server "serve: listening on" --listen 127.0.0.1:0 --no-grpc
  # The body is an array of one segment, as /v3/segments takes; done() prints
  # wrk's own tally (non-2xx answers are not counted as spans).
  cat >"$tmp/post.lua" <<LUA
local f = assert(io.open("$segment", "rb"))
wrk.method = "POST"
wrk.body = "[" .. f:read("*a") .. "]"
f:close()
wrk.headers["Content-Type"] = "application/json"
function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  local ok = summary.requests - summary.errors.status
  io.write(string.format("requests/s: %.0f (%d requests, %d errors or non-2xx, %.1f s)\n",
                         summary.requests / seconds, summary.requests, bad, seconds))
  io.write(string.format("spans/s:    %.0f (%d spans per request)\n", ok * $spans_per_request / seconds,
                         $spans_per_request))
  io.write(string.format("latency:    p50 %.2f ms, p99 %.2f ms\n", latency:percentile(50) / 1000,
                         latency:percentile(99) / 1000))
end
LUA
  echo "HTTP: wrk -t$threads -c$connections -d$duration POST /v3/segments (3-span segment) -> serve on 127.0.0.1:$port"
  wrk -t"$threads" -c"$connections" -d"$duration" -s "$tmp/post.lua" "http://127.0.0.1:$port/v3/segments" |
    sed -n '/^requests\/s\|^spans\/s\|^latency:/p'
  stop_server
  echo "server: $(grep -o 'HTTP [0-9]* requests.*' "$tmp/serve.err" | tail -1)"
else
  echo "HTTP: skipped, needs wrk (apt-get install wrk)"
fi

if [[ -x $driver ]]; then
  grpc_connections=$((threads * 2))
  start_server "gRPC listening on" --grpc 127.0.0.1:0 --no-http
  echo "gRPC: l7_grpc_load, $grpc_connections connections, collect streams of $per_stream segments (3 spans each), ${duration} -> serve on 127.0.0.1:$port"
  status=0
  "$driver" "127.0.0.1:$port" "$segment" "${duration%s}" "$grpc_connections" "$per_stream" >"$tmp/grpc.out" || status=$?
  grep -v '^acked spans' "$tmp/grpc.out"
  stop_server
  server_line=$(grep -o 'gRPC [0-9]* calls.*' "$tmp/serve.err" | tail -1)
  echo "server: $server_line"
  acked=$(sed -n 's/^acked spans: //p' "$tmp/grpc.out")
  served=$(sed -n 's/.* segments, \([0-9]*\) spans,.*/\1/p' <<<"$server_line")
  if [[ $status -ne 0 || $acked != "$served" ]]; then
    echo "gRPC: LOST OR FAILED: the driver had $acked spans acknowledged, the server wrote $served (driver exit $status)"
    exit 1
  fi
  echo "gRPC: 0 lost ($acked spans acknowledged = $served written)"
else
  echo "gRPC: skipped, no $driver (gRPC C++ not found when building)"
fi
