#!/usr/bin/env bash
# Regenerates the Pulsar captures in this folder: the npm client pulsar-flex
# (pure JavaScript, its own PulsarApi.proto encoding and CRC32C) against
# broker.js, a scripted broker of this project that encodes with the
# protobuf classes pulsar-flex ships. No Pulsar broker exists here
# (../shared/spec/real-peers.md), so the broker side is scripted; every
# client byte comes from pulsar-flex. Each scenario (client.js) runs on its
# own port on 127.0.0.1 (6651 and up: not Pulsar's 6650, so the probe, not
# the port, recognizes the protocol). Then review and refresh the goldens:
#   ./run check corpus/pulsar --update && git diff golden/pulsar
# (tshark has a Pulsar dissector: `tshark -d tcp.port==6651,pulsar -r X.pcap -V`
# is the independent check of a golden; golden/pulsar/README.md records the review).
#
# Needs root (apt, capturing on lo) and the npm registry. Without npm the
# captures are SKIPPED, and the script says so.
set -euo pipefail
cd "$(dirname "$0")"
HERE=$(pwd)
BASE_PORT=${PULSAR_PORT:-6651}

source ../capture-lib.sh
ensure_packages tshark
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "SKIPPED: node and npm are needed (Debian: apt-get install nodejs npm); no capture was regenerated" >&2
  exit 0
fi

if ! (cd "$WORK" && npm install --no-audit --no-fund --loglevel=error pulsar-flex@1.1.1 >"$WORK/npm.log" 2>&1); then
  echo "SKIPPED: npm could not install pulsar-flex@1.1.1 (log below); no capture was regenerated" >&2
  cat "$WORK/npm.log" >&2
  exit 0
fi
cp broker.js client.js "$WORK/"

port=$BASE_PORT
for s in produce-consume refused; do
  node "$WORK/broker.js" "$port" >"$WORK/broker-$s.log" 2>&1 &
  broker=$!
  PIDS+=("$broker")
  wait_for_port "$port" "$WORK/broker-$s.log"
  capture_loopback "$HERE/pulsar-flex-$s.pcap" "$port" node "$WORK/client.js" "$s" "$port"
  stop_pid "$broker"
  port=$((port + 1))
done
