#!/usr/bin/env bash
# Peak RSS of `l7conform replay` on the memory shapes of issues 20 and 22
# (bench/memory_shapes.cc writes the captures), for one or two builds side
# by side, as Markdown table rows. The captures go to a temporary folder
# that is deleted at the end (the 1 GB one included).
#
#   bench/memory_bench.sh AFTER_BINARY [BEFORE_BINARY]
#   L7_MEMORY_SHAPES="pending-flood long-100" bench/memory_bench.sh build/l7conform
#
# Each cell is one run of a fresh process: its VmHWM as `replay` prints it
# ("peak RSS kB"), and the wall time. A shape whose "before" would not fit
# in this machine's memory is given as "not run" (see SKIP_BEFORE).
set -euo pipefail
cd "$(dirname "$0")/.."
AFTER=${1:?usage: bench/memory_bench.sh AFTER_BINARY [BEFORE_BINARY]}
BEFORE=${2:-}
SHAPES_BIN=${L7_MEMORY_SHAPES_BIN:-build/bench/l7_memory_shapes}
# name:shape:scale:extra replay arguments (commas for spaces)
ALL=(
  "publish-10us:publish-10us:1:"
  "pinned-by-ping:pinned-by-ping:1:"
  "publish-1s:publish-1s:1:"
  "publish-1s --metrics:publish-1s:1:--metrics,METRICS"
  "pending-flood:pending-flood:1:"
  "pending-flood x10:pending-flood:10:"
  "ooo-1byte:ooo-1byte:1:"
  "connections 10k:connections:1:"
  "connections 100k:connections:10:"
  "long-100 100 MB:long-100:1:"
  "long-100 1 GB:long-100:10:"
)
# Shapes whose "before" needs more memory than this machine has.
SKIP_BEFORE=${SKIP_BEFORE:-"|pending-flood x10|"}
WANT=${L7_MEMORY_SHAPES:-}

dir=$(mktemp -d /tmp/l7_memory_bench.XXXXXX)
trap 'rm -rf "$dir"' EXIT

measure() {  # BINARY FILE ARGS... -> "RSS_MB|SECONDS|RECORDS"
  local bin=$1 file=$2
  shift 2
  local start end err
  err="$dir/stderr"
  start=$(date +%s.%N)
  "$bin" replay -o /dev/null "$@" "$file" 2>"$err" || true
  end=$(date +%s.%N)
  local kb records early
  kb=$(awk '/peak RSS kB/ {print $NF}' "$err")
  records=$(awk '$1 == "records" {print $NF}' "$err")
  early=$(awk '/^  (held records released early|pending flushed|tails dropped)/ {$1=$1; n=$NF; $NF=""; sub(/ $/, ""); printf "%s%s: %s", sep, $0, n; sep=", "}' "$err")
  printf '%.1f|%.2f|%s|%s' "$(echo "$kb / 1024" | bc -l)" "$(echo "$end - $start" | bc -l)" "$records" "${early% }"
}

printf '| shape | capture MB | records | before: peak RSS MB (s) | after: peak RSS MB (s) | degraded (after) |\n'
printf '|---|---|---|---|---|---|\n'
for entry in "${ALL[@]}"; do
  IFS=: read -r name shape scale extra <<<"$entry"
  [[ -n $WANT && " $WANT " != *" $shape "* ]] && continue
  file="$dir/$shape-$scale.pcap"
  [[ -f $file ]] || { rm -f "$dir"/*.pcap; "$SHAPES_BIN" "$shape" "$file" "$scale"; }
  args=()
  [[ -n $extra ]] && IFS=, read -r -a args <<<"${extra//METRICS/$dir/metrics.json}"
  mb=$(echo "$(stat -c %s "$file") / 1000000" | bc -l)
  IFS='|' read -r a_rss a_s a_records a_degraded <<<"$(measure "$AFTER" "$file" "${args[@]}")"
  before="–"
  if [[ -n $BEFORE ]]; then
    if [[ $SKIP_BEFORE == *"|$name|"* ]]; then
      before="not run"
    else
      IFS='|' read -r b_rss b_s _ _ <<<"$(measure "$BEFORE" "$file" "${args[@]}")"
      before="$b_rss ($b_s s)"
    fi
  fi
  printf '| %s | %.1f | %s | %s | %s (%s s) | %s |\n' "$name" "$mb" "$a_records" "$before" "$a_rss" "$a_s" "${a_degraded:-none}"
done
