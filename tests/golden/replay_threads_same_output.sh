#!/usr/bin/env bash
# `replay --threads N` shards connections over workers and merges their
# records back: its output must be byte for byte what one thread writes, on
# every corpus capture and on synthesized captures with many connections at
# once (both directions' segments reordered, retransmitted, lost; joined
# mid-stream; IPv6; session timeouts firing), as JSON Lines, as the table
# and with --metrics.
set -uo pipefail
L7=${1:?usage: replay_threads_same_output.sh L7CONFORM ROOT}
ROOT=${2:?usage: replay_threads_same_output.sh L7CONFORM ROOT}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
failed=0
compared=0

# same CAPTURE [replay options]: --threads 1 against --threads 4 (and 3),
# the records and the counters on stderr (but the process's peak RSS)
same() {
  local capture=$1
  shift
  "$L7" replay --threads 1 "$@" -o "$out/one" "$capture" 2>"$out/one.err" ||
    { echo "FAIL (exit $?): --threads 1 $* $capture"; failed=1; return; }
  for t in 4 3; do
    "$L7" replay --threads $t "$@" -o "$out/many" "$capture" 2>"$out/many.err" ||
      { echo "FAIL (exit $?): --threads $t $* $capture"; failed=1; return; }
    if ! cmp -s "$out/one" "$out/many"; then
      echo "DIFFERENT: --threads 1 and --threads $t $* $capture"
      diff <(head -c 200000 "$out/one") <(head -c 200000 "$out/many") | head -5
      failed=1
    fi
    if ! diff <(grep -v 'peak RSS' "$out/one.err") <(grep -v 'peak RSS' "$out/many.err"); then
      echo "COUNTERS DIFFER: --threads 1 and --threads $t $* $capture"
      failed=1
    fi
  done
  compared=$((compared + 1))
}

while IFS= read -r capture; do
  same "$capture"
done < <(find "$ROOT/corpus" -type f \( -name '*.pcap' -o -name '*.pcapng' \) | sort)
corpus=$compared

# Many connections at once, each protocol, with the capture's faults; a
# short session timeout so sweeps and timeouts happen mid-capture.
synth() {
  local name=$1
  shift
  "$L7" synth -o "$out/$name.pcap" "$@" >/dev/null 2>&1 || { echo "FAIL: synth $*"; failed=1; return 1; }
}
for proto in nats mqtt kafka amqp pulsar openwire zmtp; do
  synth "$proto" --protocol "$proto" --connections 300 --count 20 --segmentation random --retransmit 5 --reorder 5 \
    --seed 3 && same "$out/$proto.pcap" --session-timeout 1
done
synth kafka6 --protocol kafka --connections 200 --count 10 --ipv6 --no-handshake --join-at 3 --drop-one --seed 4 &&
  same "$out/kafka6.pcap"
synth mqtt1 --protocol mqtt --connections 100 --count 10 --segmentation one-byte --seed 5 && same "$out/mqtt1.pcap"

# Records rather than lines (the table writer, and --metrics beside JSON Lines).
synth mixed --protocol amqp --connections 300 --count 10 --segmentation coalesced --seed 6 &&
  same "$out/mixed.pcap" --format table
for t in 1 4; do
  "$L7" replay -q --threads $t --metrics "$out/metrics$t.json" -o "$out/records$t.jsonl" "$out/mixed.pcap" ||
    { echo "FAIL: --metrics --threads $t"; failed=1; }
done
if ! cmp -s "$out/metrics1.json" "$out/metrics4.json" || ! cmp -s "$out/records1.jsonl" "$out/records4.jsonl"; then
  echo "DIFFERENT: --metrics with --threads 1 and --threads 4"
  failed=1
fi

if ((failed)); then
  echo "replay --threads changes the output"
  exit 1
fi
echo "replay --threads 1, 3 and 4: identical output on $corpus corpus captures and $((compared - corpus)) synthesized ones"
