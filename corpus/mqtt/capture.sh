#!/usr/bin/env bash
# Regenerates the MQTT captures in this folder from real peers, all on
# 127.0.0.1: the mosquitto broker with the Eclipse Paho client (Python), and
# MQTT.js 5 (npm `mqtt`) against the npm `aedes` broker and mosquitto. Then review and refresh the
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
# Node.js with npm (Debian's nodejs and npm, or an image's own Node that
# ships npm): the MQTT.js captures are made only when it is there.
command -v npm >/dev/null || ensure_packages nodejs npm
HAVE_NODE=0
if command -v npm >/dev/null && (cd node && npm install --no-audit --no-fund --silent); then
  HAVE_NODE=1
else
  echo "SKIPPED: the MQTT.js captures (npm or the npm registry is not available)" >&2
fi

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

((HAVE_NODE)) || exit 0
# MQTT.js against aedes, which speaks 3.1/3.1.1 only: it answers a 5.0
# CONNECT with a 3.1.1-form CONNACK, return code 1.
node node/scenarios.js aedes-broker "$PORT" >"$WORK/aedes.log" 2>&1 &
BROKER=$!
PIDS+=("$BROKER")
wait_for_port "$PORT" "$WORK/aedes.log"
capture_node() {  # capture_node NAME SCENARIO
  capture_loopback "$HERE/$1.pcap" "$PORT" node node/scenarios.js "$2" "$PORT"
}
capture_node mqttjs-aedes-v5-refused v5-refused-by-aedes
capture_node mqttjs-aedes-v3.1.1-session v311-session
stop_pid "$BROKER"

# MQTT.js 5 against mosquitto: topic aliases it assigns itself, and
# traceparent/sw8 in User Properties.
start_broker
capture_node mqttjs-v5-topic-aliases v5-aliases
stop_pid "$BROKER"
