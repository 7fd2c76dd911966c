#!/usr/bin/env bash
# Requests/s and spans/s through the SkyWalking receiver (`l7conform serve`)
# on loopback, driven by wrk: every request POSTs a Java-agent-shaped segment
# with 3 spans (corpus/skywalking/java-http.json) to /v3/segments. Records go
# to /dev/null, so this measures HTTP handling, mapping and the JSON Lines
# writer (flushed before every 200), not a disk.
#
# usage: bench/receiver_load.sh [BUILD_DIR] [DURATION] [CONNECTIONS] [THREADS]
#        defaults: build 10s 50 2
# The server is started on a free port (--listen 127.0.0.1:0), stopped with
# SIGTERM by its PID (SIGKILL if it will not exit), and its own count of
# spans is printed next to wrk's figures as a cross-check.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
duration=${2:-10s}
connections=${3:-50}
threads=${4:-2}
bin=$build/l7conform
segment=$root/corpus/skywalking/java-http.json
spans_per_request=3

command -v wrk >/dev/null || { echo "receiver_load.sh: needs wrk (apt-get install wrk)" >&2; exit 1; }
[[ -x $bin ]] || { echo "receiver_load.sh: no $bin (build l7conform first)" >&2; exit 1; }

tmp=$(mktemp -d)
pid=
stop_server() {
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=
}
trap 'stop_server; rm -rf "$tmp"' EXIT

"$bin" serve --listen 127.0.0.1:0 -o /dev/null 2>"$tmp/serve.err" &
pid=$!
port=
for _ in $(seq 100); do  # at most 10 s for the "listening on" line
  port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/serve.err")
  [[ -n $port ]] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
[[ -n $port ]] || { echo "receiver_load.sh: serve did not start:" >&2; cat "$tmp/serve.err" >&2; exit 1; }

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

echo "wrk -t$threads -c$connections -d$duration POST /v3/segments (3-span segment) -> serve on 127.0.0.1:$port"
wrk -t"$threads" -c"$connections" -d"$duration" -s "$tmp/post.lua" "http://127.0.0.1:$port/v3/segments" |
  sed -n '/^requests\/s\|^spans\/s\|^latency:/p'
stop_server
echo "server: $(grep -o '[0-9]* requests.*' "$tmp/serve.err" | tail -1)"
