#!/usr/bin/env bash
# L7_FUZZ_BUILD=build-fuzz fuzz/measure.sh [SECONDS] [TARGET...]: the fixed procedure behind the
# fuzz tables of bench/RESULTS.md (fuzz/README.md, "Measuring speed").
#
# Each target runs once for SECONDS (default 60) from a scratch copy of its
# committed corpus (fuzz/corpus/<target>), with its dictionary and .options,
# one target at a time. Printed per target:
#   - steady exec/s: executions after the corpus was loaded (libFuzzer's
#     INITED line) divided by the time since then; the loading phase runs
#     every seed once and would otherwise count as slow executions;
#   - steady exec/CPU-s: the same executions divided by the CPU time (user +
#     system) the target used after INITED: what a shared machine's load
#     does not change;
#   - libFuzzer's own final stats (average exec/s over the whole run);
#   - cov and ft at the end, and the corpus it ended with;
#   - the 1-minute load average at the start (the machine is shared).
# With L7_FUZZ_COV_BIN=DIR the final corpus is also replayed (-runs=0) by
# DIR/<target>, so corpora from two builds are compared with one ruler: a
# build that stops instrumenting the oracle reports fewer counters for the
# same behaviour, so its own cov/ft are not comparable with an older build's.
# L7_FUZZ_KEEP=DIR keeps the final corpora in DIR/<target>.
# L7_FUZZ_FLAGS="-entropic=0 ..." adds libFuzzer flags (to try settings).
set -uo pipefail
BUILD=${L7_FUZZ_BUILD:?L7_FUZZ_BUILD must name the fuzz build directory}
SECS=${1:-60}
shift || true
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/common.sh"
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  for t in "$BUILD"/fuzz/fuzz_*; do [[ -x $t && -f $t ]] && targets+=("$(basename "$t")"); done
fi
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT

# Prefixes each line with the wall clock in seconds (bash's EPOCHREALTIME).
stamp() { while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done; }

printf '%-24s %8s %10s %10s %9s %7s %7s %7s %12s %6s\n' target max_len "steady/s" "steady/cpu" "final/s" cov ft corpus "cov/ft(ruler)" load
for name in "${targets[@]}"; do
  bin="$BUILD/fuzz/$name"
  [[ -x $bin ]] || { echo "no such fuzz target: $name"; continue; }
  work="$SCRATCH/$name"
  mkdir -p "$work"
  cp -r "$HERE/corpus/$name/." "$work/" 2>/dev/null || true
  mapfile -t opts < <(fuzz_flags_for "$name")
  # L7_FUZZ_FLAGS: libFuzzer flags to try on top (they win over .options).
  read -r -a extra <<<"${L7_FUZZ_FLAGS:-}"
  opts+=("${extra[@]}")
  max_len=$(printf '%s\n' "${opts[@]}" | sed -n 's/^-max_len=//p' | tail -1)
  load=$(cut -d' ' -f1 /proc/loadavg)
  log="$SCRATCH/$name.log"
  # CPU time too: on a shared machine, executions per CPU-second are what
  # does not depend on the load (and what a fuzzing budget pays for). The
  # target's own user+system time is sampled from /proc while it runs.
  "$bin" "${opts[@]}" -max_total_time="$SECS" -print_final_stats=1 \
    -artifact_prefix="$SCRATCH/$name-" "$work" > >(stamp >"$log") 2>&1 &
  pid=$!
  cpu_inited= cpu_last=
  while kill -0 "$pid" 2>/dev/null; do
    cpu=$(awk '{print ($14 + $15) / 100}' "/proc/$pid/stat" 2>/dev/null) && cpu_last=${cpu:-$cpu_last}
    if [[ -z $cpu_inited ]] && grep -qP '\tINITED ' "$log" 2>/dev/null; then cpu_inited=$cpu_last; fi
    sleep 0.2
  done
  wait "$pid"
  sleep 0.5  # the stamping reader finishes the log
  end=$(tail -1 "$log" | cut -d' ' -f1)
  inited=$(grep -m1 -P '\tINITED ' "$log")
  t0=${inited%% *}
  n0=$(sed -E 's/^[^#]*#([0-9]+).*/\1/' <<<"$inited")
  n1=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $3}')
  final=$(grep -m1 'stat::average_exec_per_sec' "$log" | awk '{print $3}')
  steady=$(awk -v a="$n0" -v b="$n1" -v s="$t0" -v e="$end" 'BEGIN{if (e>s && b>=a) printf "%d", (b-a)/(e-s); else print "?"}')
  cpu_steady=$(awk -v a="$n0" -v b="$n1" -v s="${cpu_inited:-x}" -v e="${cpu_last:-x}" \
    'BEGIN{if (s != "x" && e != "x" && e > s && b >= a) printf "%d", (b-a)/(e-s); else print "?"}')
  last=$(grep -P '#[0-9]+\t(pulse|NEW|REDUCE|DONE|INITED)' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' <<<"$last" | awk '{print $2}')
  ft=$(grep -oE 'ft: [0-9]+' <<<"$last" | awk '{print $2}')
  corp=$(grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' <<<"$last" | awk '{print $2}')
  ruler=-
  if [[ -n ${L7_FUZZ_COV_BIN:-} && -x $L7_FUZZ_COV_BIN/$name ]]; then
    r=$("$L7_FUZZ_COV_BIN/$name" -runs=0 -max_len=1048576 -rss_limit_mb=4096 "$work" 2>&1 | grep -m1 -P '\tINITED ')
    ruler="$(grep -oE 'cov: [0-9]+' <<<"$r" | awk '{print $2}')/$(grep -oE 'ft: [0-9]+' <<<"$r" | awk '{print $2}')"
  fi
  if grep -q 'ERROR: libFuzzer\|ERROR: AddressSanitizer\|invariant violated\|runtime error' "$log"; then
    echo "$name: FINDING, see below"
    grep -E 'ERROR|SUMMARY|invariant|runtime error' "$log" | head -5
  fi
  if [[ -n ${L7_FUZZ_KEEP:-} ]]; then
    mkdir -p "$L7_FUZZ_KEEP"
    rm -rf "${L7_FUZZ_KEEP:?}/$name"
    cp -r "$work" "$L7_FUZZ_KEEP/$name"
    cp "$log" "$L7_FUZZ_KEEP/$name.log"
  fi
  printf '%-24s %8s %10s %10s %9s %7s %7s %7s %12s %6s\n' "$name" "${max_len:-?}" "$steady" "$cpu_steady" "${final:-?}" "${cov:-?}" \
    "${ft:-?}" "${corp:-?}" "$ruler" "$load"
done
