# Shared by the corpus/<proto>/capture.sh scripts (source it): package
# installation, process bookkeeping and loopback captures. Every process
# started through start_bg is stopped on exit.

ensure_packages() {  # ensure_packages PKG...
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if ((${#missing[@]})); then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

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

wait_for_port() {  # wait_for_port PORT LOGFILE [TRIES, 0.1 s apart; 50]
  for _ in $(seq "${3:-50}"); do
    (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on 127.0.0.1:$1" >&2
  cat "$2" >&2
  exit 1
}

# capture_loopback OUT.pcap PORT COMMAND...: runs COMMAND while dumpcap
# records tcp port PORT on lo (classic pcap), then moves the file in place.
capture_loopback() {
  local out=$1 port=$2
  shift 2
  local tmp="$WORK/$(basename "$out")"
  # DUMPCAP_BUFFER_MB: a larger kernel buffer for bursts (a megabyte
  # written at once on lo overruns the default and loses segments).
  dumpcap -q -P -i lo ${DUMPCAP_BUFFER_MB:+-B "$DUMPCAP_BUFFER_MB"} -f "tcp port $port" -w "$tmp" >/dev/null 2>&1 &
  local cap=$!
  PIDS+=("$cap")
  sleep 1  # dumpcap needs a moment before packets are seen
  "$@"
  sleep 0.5
  stop_pid "$cap"
  mv "$tmp" "$out"
  chmod 644 "$out"
  echo "wrote $out ($(tshark -r "$out" 2>/dev/null | wc -l) packets)"
}
