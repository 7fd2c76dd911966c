#!/usr/bin/env bash
# Regenerates the MQTT captures in this folder from a real mosquitto broker
# and the Eclipse Paho client, all on 127.0.0.1. Then review and refresh the
# goldens:   ./run check corpus/mqtt --update && git diff golden/mqtt
# (and compare with tshark: tshark -r corpus/mqtt/NAME.pcap -V -Y mqtt).
#
# Needs root (apt, capturing on lo). Every process it starts is stopped by PID.
set -euo pipefail
cd "$(dirname "$0")"
HERE=$(pwd)
PORT=${MQTT_PORT:-1883}

need() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
missing=()
for p in mosquitto mosquitto-clients python3-paho-mqtt tshark; do need "$p" || missing+=("$p"); done
if ((${#missing[@]})); then
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

WORK=$(mktemp -d)
chmod 755 "$WORK"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
stop_pid() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

start_broker() {  # start_broker [password]
  {
    echo "listener $PORT 127.0.0.1"
    echo "persistence false"
    if [[ ${1:-} == password ]]; then
      echo "allow_anonymous false"
      echo "password_file $WORK/passwords"
    else
      echo "allow_anonymous true"
    fi
  } >"$WORK/mosquitto.conf"
  if [[ ${1:-} == password ]]; then
    mosquitto_passwd -b -c "$WORK/passwords" alice correct-password
    chmod 644 "$WORK/passwords"
  fi
  mosquitto -c "$WORK/mosquitto.conf" >"$WORK/mosquitto.log" 2>&1 &
  BROKER=$!
  PIDS+=("$BROKER")
  for _ in $(seq 50); do
    (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "mosquitto did not start" >&2
  cat "$WORK/mosquitto.log" >&2
  exit 1
}

capture() {  # capture NAME SCENARIO
  dumpcap -q -P -i lo -f "tcp port $PORT" -w "$WORK/$1.pcap" >/dev/null 2>&1 &
  local cap=$!
  PIDS+=("$cap")
  sleep 1
  /usr/bin/python3 client.py "$2" "$PORT"  # Debian's python has python3-paho-mqtt
  sleep 0.5
  stop_pid "$cap"
  mv "$WORK/$1.pcap" "$HERE/$1.pcap"
  chmod 644 "$HERE/$1.pcap"
  echo "wrote corpus/mqtt/$1.pcap ($(tshark -r "$HERE/$1.pcap" 2>/dev/null | wc -l) packets)"
}

start_broker
capture v3.1-session v31
capture v3.1.1-session v311
capture v5-session v5
capture v3.1.1-ping ping
capture v3.1.1-large-payload large
stop_pid "$BROKER"

start_broker password
capture v3.1.1-refused-connect refused-v311
capture v5-refused-connect refused-v5
stop_pid "$BROKER"
