#!/usr/bin/env bash
# The real SkyWalking Node.js agent (npm skywalking-backend-js) reporting over
# gRPC to `l7conform serve --grpc`: app.js runs a small HTTP server and
# client under the agent for a fixed list of requests, check.js checks the
# records (spans, methods, paths, codes including a 500, parent/child links,
# service name, exactly the segments the agent sent), and the records must
# equal what `l7conform skywalking` makes of the same segments as JSON.
#
# usage: run_test.sh L7CONFORM_BIN NPM_DIR [--update-golden]
#   NPM_DIR       where the agent is installed with npm (kept as a cache)
#   --update-golden  also store this run's segments and records as the golden
#                 corpus/skywalking/node-agent-grpc.json and
#                 golden/skywalking/node-agent-grpc.{jsonl,metrics.json}
# Exit 0 passed, 1 failed, 77 skipped (no node/npm, or the package cannot be
# installed; ctest shows it as skipped, never as passed).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
bin=$1
npm_dir=$2
update=${3:-}
package=skywalking-backend-js@0.9.0
token=node-agent-test-token

skip() {
  echo "SKIPPED: $*"
  exit 77
}
fail() {
  echo "FAILED: $*"
  exit 1
}

command -v node >/dev/null || skip "node is not installed"
command -v npm >/dev/null || skip "npm is not installed"
if [[ ! -f $npm_dir/node_modules/skywalking-backend-js/package.json ]]; then
  mkdir -p "$npm_dir"
  if ! timeout 300 npm install --prefix "$npm_dir" --no-audit --no-fund --loglevel=error "$package" \
    >"$npm_dir/npm-install.log" 2>&1; then
    # npm's first error lines say why (ECONNREFUSED, E404, ...); the rest is its stack.
    skip "npm could not install $package: $(grep -m4 'error' "$npm_dir/npm-install.log" | tr '\n' ' ')(log: $npm_dir/npm-install.log)"
  fi
fi

tmp=$(mktemp -d)
pid=
stop_server() {
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  local status=0
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=
    fail "serve did not exit within 10 s of SIGTERM"
  fi
  wait "$pid" || status=$?
  pid=
  [[ $status -eq 0 ]] || fail "serve exited with $status after SIGTERM: $(cat "$tmp/serve.err")"
}
trap 'stop_server >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT

# Created here, not by the background job's redirection: the child opens it
# after the fork, and the first sed below could run before it exists.
: >"$tmp/serve.err"
"$bin" serve --no-http --grpc 127.0.0.1:0 --auth-token "$token" -o "$tmp/records.jsonl" 2>"$tmp/serve.err" &
pid=$!
port=
for _ in $(seq 100); do  # at most 10 s for the "listening on" line
  port=$(sed -n 's/.*gRPC listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/serve.err")
  [[ -n $port ]] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
[[ -n $port ]] || fail "serve did not start: $(cat "$tmp/serve.err")"

NODE_PATH="$npm_dir/node_modules" timeout 60 node "$here/app.js" "127.0.0.1:$port" "$token" "$tmp/sent.json" ||
  fail "app.js under the agent failed (serve: $(cat "$tmp/serve.err"))"
stop_server
cat "$tmp/serve.err"
grep -q ' 0 not protobuf, 0 map errors, 2 management, 0 unauthenticated,' "$tmp/serve.err" ||
  fail "the receiver's counts are not those of a clean run (bad segments, or management calls missing)"

node "$here/check.js" "$tmp/records.jsonl" "$tmp/sent.json" || fail "records do not match what the agent sent"
"$bin" skywalking "$tmp/sent.json" -o "$tmp/by-json.jsonl"
sort "$tmp/records.jsonl" >"$tmp/a"
sort "$tmp/by-json.jsonl" >"$tmp/b"
cmp -s "$tmp/a" "$tmp/b" || fail "gRPC records differ from the JSON mapping of the same segments: $(diff "$tmp/a" "$tmp/b" | head -5)"

if [[ $update == --update-golden ]]; then
  cp "$tmp/sent.json" "$root/corpus/skywalking/node-agent-grpc.json"
  "$bin" check "$root/corpus/skywalking/node-agent-grpc.json" --golden "$root/golden" --update -q --no-metrics
  echo "golden updated: corpus/skywalking/node-agent-grpc.json, golden/skywalking/node-agent-grpc.{jsonl,metrics.json}"
fi
echo "PASSED: the Node.js agent's $(grep -c . "$tmp/records.jsonl") spans came out as records over gRPC"
