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

source ../capture-lib.sh
ensure_packages mosquitto mosquitto-clients python3-paho-mqtt tshark

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
  wait_for_port "$PORT" "$WORK/mosquitto.log"
}

capture() {  # capture NAME SCENARIO (Debian's python has python3-paho-mqtt)
  capture_loopback "$HERE/$1.pcap" "$PORT" /usr/bin/python3 client.py "$2" "$PORT"
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
