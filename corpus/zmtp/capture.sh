#!/usr/bin/env bash
# Regenerates the ZMTP captures in this folder from two independent users of
# libzmq on 127.0.0.1: python3-zmq (Debian; libzmq 4.3) and the npm package
# zeromq v6 (its own prebuilt libzmq 4.3.5). Each scenario runs in its own
# process on its own port; both sockets are real libzmq sockets, the server
# binds and the client connects (the client sends the SYN). Each capture
# NAME.pcap gets NAME.log beside it: every message the scenario sent (see
# client.py). Then review and refresh the goldens:
#   ./run check corpus/zmtp --update && git diff golden/zmtp
# (tshark has no ZMTP dissector: golden/zmtp/README.md records the review).
#
# Needs root (apt, npm, capturing on lo). Every process it starts is stopped
# by PID. Without network access to npm the zeromq captures are SKIPPED,
# and the script says so.
set -euo pipefail
cd "$(dirname "$0")"
HERE=$(pwd)
BASE_PORT=${ZMTP_PORT:-5555}

source ../capture-lib.sh
export DUMPCAP_BUFFER_MB=64  # the 1 MiB messages of the "large" scenario
ensure_packages python3-zmq tshark

PY_SCENARIOS=(req-rep dealer-router pub-sub xpub-xsub push-pull pair multipart large plain-accepted plain-refused curve)
port=$BASE_PORT
for s in "${PY_SCENARIOS[@]}"; do
  capture_loopback "$HERE/py-$s.pcap" "$port" /usr/bin/python3 client.py "$s" "$port" "$WORK/py-$s.log"
  mv "$WORK/py-$s.log" "$HERE/py-$s.log"
  port=$((port + 1))
done

# npm zeromq v6, installed into the work folder (never into the project).
NODE_SCENARIOS=(req-rep dealer-router pub-sub xpub-xsub push-pull pair multipart large plain-accepted plain-refused curve)
if (cd "$WORK" && npm install --no-audit --no-fund --loglevel=error zeromq@6 >"$WORK/npm.log" 2>&1); then
  cp client.mjs "$WORK/client.mjs"
  for s in "${NODE_SCENARIOS[@]}"; do
    capture_loopback "$HERE/node-$s.pcap" "$port" node "$WORK/client.mjs" "$s" "$port" "$WORK/node-$s.log"
    mv "$WORK/node-$s.log" "$HERE/node-$s.log"
    port=$((port + 1))
  done
else
  echo "SKIPPED: npm could not install zeromq@6 (log below); the node-*.pcap captures were not regenerated" >&2
  cat "$WORK/npm.log" >&2
fi
