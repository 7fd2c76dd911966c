#!/usr/bin/env bash
# Regenerates the Kafka captures in this folder: real librdkafka producer and
# consumer clients, and the npm kafkajs client (an independent
# implementation), against librdkafka's mock cluster (one broker on
# 127.0.0.1, random port), captured on lo with dumpcap. Then review and
# refresh the goldens:
#   ./build-kafka/l7conform check corpus/kafka --golden golden --update && git diff golden/kafka
#
# Needs root (apt, capturing on lo). Every process it starts is stopped by PID.
set -euo pipefail
cd "$(dirname "$0")"
HERE=$(pwd)

need() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
missing=()
for p in librdkafka-dev gcc tshark; do need "$p" || missing+=("$p"); done
if ((${#missing[@]})); then
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

gcc -O1 -Wall -Wextra -o "$WORK/kafka_scenarios" client/kafka_scenarios.c -lrdkafka

stop_pid() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

capture() {  # capture NAME SCENARIO [COMMAND...]
  # SCENARIO is librdkafka's client run against the mock cluster it starts;
  # with COMMAND, the mock cluster serves (scenario `serve`) while COMMAND,
  # given the bootstrap address, is the client. The mock cluster starts when
  # the fifo is opened, and a serving one stops when it closes: dumpcap and
  # COMMAND must not hold it open.
  local name=$1 scenario=$2
  shift 2
  mkfifo "$WORK/go"
  "$WORK/kafka_scenarios" "$scenario" <"$WORK/go" >"$WORK/out" 2>"$WORK/err" &
  local mock=$!
  PIDS+=("$mock")
  exec 3>"$WORK/go"
  local port=""
  for _ in $(seq 100); do
    port=$(head -n1 "$WORK/out" 2>/dev/null || true)
    [[ -n "$port" ]] && break
    sleep 0.05
  done
  [[ -n "$port" ]] || { echo "no mock cluster port" >&2; cat "$WORK/err" >&2; exit 1; }
  dumpcap -q -P -i lo -f "tcp port $port" -w "$WORK/$name.pcap" >/dev/null 2>&1 3>&- &
  local cap=$!
  PIDS+=("$cap")
  sleep 1  # dumpcap needs a moment before packets are seen
  echo go >&3
  if (($#)); then
    "$@" "127.0.0.1:$port" 3>&- || { echo "client of $name failed" >&2; exit 1; }
    sleep 0.5
    exec 3>&-
    wait "$mock" || true
  else
    exec 3>&-
    wait "$mock" || { echo "scenario $scenario failed" >&2; cat "$WORK/err" >&2; exit 1; }
    sleep 0.5
  fi
  stop_pid "$cap"
  rm -f "$WORK/go" "$WORK/out"
  mv "$WORK/$name.pcap" "$HERE/$name.pcap"
  echo "wrote corpus/kafka/$name.pcap (port $port, $(tshark -r "$HERE/$name.pcap" 2>/dev/null | wc -l) packets)"
}

# Scenarios to run: all by default, or those named on the command line.
want() { (($# == 0)) || [[ " ${SCENARIOS[*]} " == *" $1 "* ]]; }
SCENARIOS=("$@")
want produce-headers && capture produce-headers produce-headers
want produce-compressed && capture produce-compressed produce-compressed
want produce-error && capture produce-error produce-error
want consume-group && capture consume-group consume-group

# kafkajs: the mock cluster serves (refusing the first FindCoordinator
# once) while the Node client runs; made when Node.js with npm is there.
if want kafkajs-audit; then
  if command -v npm >/dev/null && (cd node && npm install --no-audit --no-fund --silent); then
    capture kafkajs-audit serve node node/scenarios.js
  else
    echo "SKIPPED: corpus/kafka/kafkajs-audit.pcap (Node.js with npm, or the npm registry, is not available)" >&2
  fi
fi

# Synthesized captures for the versions the mock broker does not speak
# (flexible Produce/Fetch, topic ids, flexible group APIs): built by the
# kafka_synth_captures target of tests/kafka from the protocol layouts
# (harness/synth/kafka_messages.h).
SYNTH=${KAFKA_SYNTH:-$HERE/../../build-kafka/tests/kafka/kafka_synth_captures}
if ! want synth; then
  :
elif [[ -x "$SYNTH" ]]; then
  "$SYNTH" "$HERE"
else
  echo "skipping synth-*.pcap: build the kafka_synth_captures target (or set KAFKA_SYNTH)" >&2
fi
