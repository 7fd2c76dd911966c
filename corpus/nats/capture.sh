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

source ../capture-lib.sh
ensure_packages nats-server tshark nodejs
(cd client && npm ci --no-audit --no-fund --silent)

start_server() {  # start_server [extra config lines]
  printf 'listen: 127.0.0.1:%s\nserver_name: l7conform-nats\n%s\n' "$PORT" "${1:-}" >"$WORK/nats.conf"
  nats-server -c "$WORK/nats.conf" >"$WORK/nats.log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  wait_for_port "$PORT" "$WORK/nats.log"
}

capture() {  # capture NAME SCENARIO
  capture_loopback "$HERE/$1.pcap" "$PORT" node client/scenarios.mjs "$2" "$PORT"
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
