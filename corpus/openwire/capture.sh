#!/usr/bin/env bash
# Regenerates the OpenWire captures in this folder from Debian's ActiveMQ
# 5.17 broker on 127.0.0.1 (a temporary broker base, ports 61717 and, with
# the size prefix disabled on both ends, 61718) with Debian's own clients:
# `activemq.jar producer|consumer` and JmsClient.java (the same
# activemq-client library, for properties, correlation ids, topics,
# transactions and a refused login). Then review and refresh the goldens:
#   ./run check corpus/openwire --update && git diff golden/openwire
# (golden/openwire/README.md says how each was compared with tshark).
#
# Needs root (apt, capturing on lo); without it says SKIPPED and changes
# nothing. Every process it starts is stopped by PID.
set -euo pipefail
cd "$(dirname "$0")"
HERE=$(pwd)
PORT=${OPENWIRE_PORT:-61717}
NOPREFIX_PORT=${OPENWIRE_NOPREFIX_PORT:-61718}

if [[ $(id -u) -ne 0 ]]; then
  echo "SKIPPED: needs root to install activemq and capture on lo" >&2
  exit 0
fi
source ../capture-lib.sh
if ! ensure_packages activemq tshark; then
  echo "SKIPPED: could not install activemq and tshark" >&2
  exit 0
fi
for p in "$PORT" "$NOPREFIX_PORT"; do
  if (exec 3<>/dev/tcp/127.0.0.1/"$p") 2>/dev/null; then
    echo "SKIPPED: something already listens on 127.0.0.1:$p" >&2
    exit 0
  fi
done

AMQ_HOME=/usr/share/activemq
BASE="$WORK/broker"
JAVA_ARGS=(-Dactivemq.home="$AMQ_HOME" -Dactivemq.base="$BASE" -Dactivemq.conf="$BASE" -Dactivemq.data="$BASE/data")

start_broker() {
  mkdir -p "$BASE/data"
  cp /etc/activemq/instances-available/main/log4j2.properties "$BASE/"
  # Debian's instance, on our ports, with one user (a wrong password is
  # the ExceptionResponse scenario; anonymous clients stay allowed).
  cat >"$BASE/activemq.xml" <<XML
<beans xmlns="http://www.springframework.org/schema/beans"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans-2.0.xsd
  http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">
  <bean class="org.springframework.beans.factory.config.PropertyPlaceholderConfigurer"/>
  <broker xmlns="http://activemq.apache.org/schema/core" useJmx="false" brokerName="localhost"
          dataDirectory="$BASE/data">
    <persistenceAdapter><kahaDB directory="$BASE/data/kahadb"/></persistenceAdapter>
    <plugins>
      <simpleAuthenticationPlugin anonymousAccessAllowed="true">
        <users><authenticationUser username="app" password="secret" groups="users"/></users>
      </simpleAuthenticationPlugin>
    </plugins>
    <transportConnectors>
      <transportConnector name="openwire" uri="tcp://127.0.0.1:$PORT"/>
      <transportConnector name="noprefix" uri="tcp://127.0.0.1:$NOPREFIX_PORT?wireFormat.sizePrefixDisabled=true"/>
    </transportConnectors>
  </broker>
</beans>
XML
  java "${JAVA_ARGS[@]}" -jar "$AMQ_HOME/bin/activemq.jar" start "xbean:file:$BASE/activemq.xml" >"$WORK/broker.log" 2>&1 &
  PIDS+=("$!")
  wait_for_port "$PORT" "$WORK/broker.log" 600  # about 15 s to start
}

url() {  # url PORT [wireFormat options]
  echo "tcp://127.0.0.1:$1${2:+?$2}"
}
# ONLY=NAME ./capture.sh regenerates that capture alone.
tool() {  # tool NAME PORT producer|consumer URL-OPTIONS ARGS...: activemq.jar's client
  local name=$1 port=$2 cmd=$3 opts=$4
  [[ -n ${ONLY:-} && $name != "$ONLY" ]] && return 0
  shift 4
  capture_loopback "$HERE/$name.pcap" "$port" timeout 120 java "${JAVA_ARGS[@]}" -jar "$AMQ_HOME/bin/activemq.jar" "$cmd" \
    --brokerUrl "$(url "$port" "$opts")" "$@" >/dev/null
}
jms() {  # jms NAME PORT SCENARIO URL-OPTIONS
  [[ -n ${ONLY:-} && $1 != "$ONLY" ]] && return 0
  capture_loopback "$HERE/$1.pcap" "$2" timeout 120 java -cp "$AMQ_HOME/lib/*" JmsClient.java "$3" "$(url "$2" "$4")"
}

LOOSE=wireFormat.tightEncodingEnabled=false
NOCACHE=wireFormat.cacheEnabled=false
NOPREFIX=wireFormat.sizePrefixDisabled=true

start_broker
# Tight (the default) and loose, the cache on (the default) and off.
tool tight-producer-queue "$PORT" producer "" --destination queue://orders --messageCount 5
tool tight-consumer-queue "$PORT" consumer "" --destination queue://orders --messageCount 5
tool loose-producer-queue "$PORT" producer "$LOOSE" --destination queue://orders --messageCount 5
tool loose-consumer-queue "$PORT" consumer "$LOOSE" --destination queue://orders --messageCount 5
tool tight-nocache-producer "$PORT" producer "$NOCACHE" --destination queue://orders --messageCount 3
tool loose-nocache-producer "$PORT" producer "$LOOSE&$NOCACHE" --destination queue://orders --messageCount 3
tool tight-nocache-consumer "$PORT" consumer "$NOCACHE" --destination queue://orders --messageCount 6
# Topics, non-persistent sends, a transacted producer and consumer.
tool loose-producer-topic-nonpersistent "$PORT" producer "$LOOSE" --destination topic://prices --messageCount 3 --persistent false
tool loose-producer-transacted "$PORT" producer "$LOOSE" --destination queue://batch --messageCount 4 --transactionBatchSize 2
# (The tool's producer commits after the third message and rolls the fourth back.)
tool loose-consumer-transacted "$PORT" consumer "$LOOSE" --destination queue://batch --messageCount 3 --transacted true --batchSize 2
# Properties (traceparent, sw8), JMS correlation ids, queue and topic,
# persistent and not; request/reply over a temporary queue; a transaction
# with a rollback; a refused login (ExceptionResponse).
for enc in loose tight; do
  opts=""
  [[ $enc == loose ]] && opts=$LOOSE
  jms "$enc-properties" "$PORT" properties "$opts"
  jms "$enc-request-reply" "$PORT" request-reply "$opts"
  jms "$enc-transacted-rollback" "$PORT" transacted "$opts"
  jms "$enc-refused-login" "$PORT" refused-login "$opts"
  if [[ $enc == loose ]]; then
    # tshark's dissector reads the marshal cache's indexes but not what
    # follows them in a message: these two are for a field-by-field review.
    jms loose-nocache-properties "$PORT" properties "$LOOSE&$NOCACHE"
    jms loose-nocache-request-reply "$PORT" request-reply "$LOOSE&$NOCACHE"
  fi
  # A large message (1 MiB of text) sent and consumed.
  DUMPCAP_BUFFER_MB=16 jms "$enc-large" "$PORT" large "$opts"
  # Without the size prefix (both ends disable it on the second connector).
  jms "$enc-noprefix-properties" "$NOPREFIX_PORT" properties "${opts:+$opts&}$NOPREFIX"
done
