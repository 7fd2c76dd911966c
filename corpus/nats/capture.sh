#!/usr/bin/env bash
# Regenerates the NATS captures in this folder from a real nats-server and
# the official Node.js client, all on 127.0.0.1. Then review and refresh the
# goldens:   ./run check corpus/nats --update && git diff golden/nats
#
# Needs root (apt, capturing on lo). Every process it starts is stopped by PID.
set -euo pipefail
cd "$(dirname "$0")"
HERE=$(pwd)
PORT=${NATS_PORT:-4222}

need() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
missing=()
for p in nats-server tshark nodejs; do need "$p" || missing+=("$p"); done
if ((${#missing[@]})); then
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
(cd client && npm ci --no-audit --no-fund --silent)

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

start_server() {  # start_server [extra config lines]
  printf 'listen: 127.0.0.1:%s\nserver_name: l7conform-nats\n%s\n' "$PORT" "${1:-}" >"$WORK/nats.conf"
  nats-server -c "$WORK/nats.conf" >"$WORK/nats.log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  for _ in $(seq 50); do
    (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nats-server did not start" >&2
  cat "$WORK/nats.log" >&2
  exit 1
}

stop_pid() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

capture() {  # capture NAME SCENARIO
  local name=$1 scenario=$2
  dumpcap -q -P -i lo -f "tcp port $PORT" -w "$WORK/$name.pcap" >/dev/null 2>&1 &
  local cap=$!
  PIDS+=("$cap")
  sleep 1  # dumpcap needs a moment before packets are seen
  node client/scenarios.mjs "$scenario" "$PORT"
  sleep 0.5
  stop_pid "$cap"
  mv "$WORK/$name.pcap" "$HERE/$name.pcap"
  echo "wrote corpus/nats/$name.pcap ($(tshark -r "$HERE/$name.pcap" 2>/dev/null | wc -l) packets)"
}

start_server
capture pubsub pubsub
capture queue-group queueGroup
capture request-reply requestReply
capture trace-headers traceHeaders
stop_pid "$SERVER_PID"

start_server "max_payload: 1024"
capture max-payload-error maxPayload
stop_pid "$SERVER_PID"
