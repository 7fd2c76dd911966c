#!/usr/bin/env bash
# Regenerates the AMQP 0-9-1 captures in this folder from a real
# rabbitmq-server on 127.0.0.1 with two independent clients: Pika
# (python3-pika, Debian) and amqplib (npm, Node.js). Then review and refresh
# the goldens:   ./run check corpus/amqp --update && git diff golden/amqp
# (golden/amqp/README.md says how each was compared with tshark).
#
# Needs root (apt, capturing on lo) and npm's registry for amqplib; without
# them it says SKIPPED and changes nothing. Every process it starts is
# stopped by PID.
set -euo pipefail
cd "$(dirname "$0")"
HERE=$(pwd)
PORT=${AMQP_PORT:-5672}

if [[ $(id -u) -ne 0 ]]; then
  echo "SKIPPED: needs root to install rabbitmq-server and capture on lo" >&2
  exit 0
fi
source ../capture-lib.sh
if ! ensure_packages rabbitmq-server python3-pika tshark; then
  echo "SKIPPED: could not install rabbitmq-server, python3-pika and tshark" >&2
  exit 0
fi
if ! (cd "$WORK" && npm install --silent --no-audit --no-fund amqplib@0.10 >/dev/null 2>&1); then
  echo "SKIPPED: npm could not install amqplib" >&2
  exit 0
fi
# A node that was running before (Debian starts one on install) would hold the port.
if (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null; then
  echo "SKIPPED: something already listens on 127.0.0.1:$PORT" >&2
  exit 0
fi

start_broker() {
  local base="$WORK/rabbit"
  mkdir -p "$base/log" "$base/mnesia" "$base/plugins"
  chown -R rabbitmq:rabbitmq "$base"
  cat >"$base/rabbitmq.conf" <<CONF
listeners.tcp.1 = 127.0.0.1:$PORT
loopback_users = none
CONF
  chown rabbitmq:rabbitmq "$base/rabbitmq.conf"
  # Erlang's port mapper, started here in the foreground so that it is
  # stopped with the broker (rabbitmq-server would leave a daemon behind).
  setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups /usr/bin/epmd -address 127.0.0.1 >/dev/null 2>&1 &
  EPMD=$!
  PIDS+=("$EPMD")
  sleep 0.5
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$base" \
    ERL_EPMD_ADDRESS=127.0.0.1 RABBITMQ_NODENAME=rabbit@localhost RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}' \
    RABBITMQ_CONFIG_FILE="$base/rabbitmq.conf" RABBITMQ_LOG_BASE="$base/log" RABBITMQ_MNESIA_BASE="$base/mnesia" \
    RABBITMQ_FEATURE_FLAGS_FILE="$base/feature_flags" RABBITMQ_PLUGINS_EXPAND_DIR="$base/plugins" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$base/enabled_plugins" \
    setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups /usr/lib/rabbitmq/bin/rabbitmq-server \
    >"$WORK/rabbitmq.log" 2>&1 &
  BROKER=$!
  PIDS+=("$BROKER")
  wait_for_port "$PORT" "$WORK/rabbitmq.log" 600  # about 11 s to start
}

pika() {  # pika NAME SCENARIO
  capture_loopback "$HERE/$1.pcap" "$PORT" /usr/bin/python3 pika_client.py "$2" "$PORT"
}
amqplib() {  # amqplib NAME SCENARIO
  capture_loopback "$HERE/$1.pcap" "$PORT" env NODE_PATH="$WORK/node_modules" node amqplib_client.js "$2" "$PORT"
}

start_broker
pika pika-publish-consume publish-consume
pika pika-get-empty get
pika pika-nack-reject nack-reject
pika pika-confirms confirms
pika pika-mandatory-return return
pika pika-tx tx
pika pika-qos qos
pika pika-passive-404 passive-404
pika pika-refused-login refused-login
pika pika-large-bodies large-bodies
pika pika-heartbeats heartbeats
pika other-protocol-headers other-headers
amqplib amqplib-publish-consume publish-consume
amqplib amqplib-get-empty get
amqplib amqplib-nack-reject nack-reject
amqplib amqplib-confirms-return confirms-return
amqplib amqplib-tx-qos tx-qos
amqplib amqplib-passive-404 passive-404
amqplib amqplib-refused-login refused-login
amqplib amqplib-large-bodies large-bodies
stop_pid "$BROKER"
stop_pid "$EPMD"
