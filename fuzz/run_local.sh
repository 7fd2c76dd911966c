#!/usr/bin/env bash
# ./run fuzz [TARGET] [SECONDS]: run libFuzzer targets locally with their
# dictionary, options and a working corpus seeded from fuzz/corpus/<target>
# (kept in BUILD_DIR/fuzz-work/<target>, so new inputs survive between runs).
# New inputs are reported; merge them into fuzz/corpus with -merge=1 when
# they are worth keeping. Findings are copied to fuzz/regressions/<target>/.
# L7_FUZZ_MAX_RUNS=N also stops a target after N executions (whichever of
# that and SECONDS comes first), e.g. 10000000 for "10 minutes or 10M runs".
set -uo pipefail
BUILD=${1:?usage: run_local.sh BUILD_DIR [TARGET] [SECONDS]}
TARGET=${2:-all}
SECS=${3:-60}
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/common.sh"
targets=()
if [[ $TARGET == all ]]; then
  for t in "$BUILD"/fuzz/fuzz_*; do [[ -x $t && -f $t ]] && targets+=("$(basename "$t")"); done
else
  targets=("$TARGET")
fi
status=0
for name in "${targets[@]}"; do
  bin="$BUILD/fuzz/$name"
  [[ -x $bin ]] || { echo "no such fuzz target: $name (built ones: $(ls "$BUILD/fuzz" | grep '^fuzz_' | tr '\n' ' '))"; exit 2; }
  work="$BUILD/fuzz-work/$name"
  mkdir -p "$work"
  cp -rn "$HERE/corpus/$name/." "$work/" 2>/dev/null || true
  before=$(ls "$work" | wc -l)
  # Dictionary, defaults and the target's .options ([libfuzzer] key =
  # value), as OSS-Fuzz passes them.
  mapfile -t opts < <(fuzz_flags_for "$name")
  [[ -n ${L7_FUZZ_MAX_RUNS:-} ]] && opts+=(-runs="$L7_FUZZ_MAX_RUNS")
  mkdir -p "$HERE/regressions/$name"  # libFuzzer writes findings there
  echo "[fuzz] $name for ${SECS}s (corpus: $before inputs in $work)"
  "$bin" "${opts[@]}" -max_total_time="$SECS" -print_final_stats=1 \
    -artifact_prefix="$HERE/regressions/$name/" "$work" 2>&1 | tee "$BUILD/fuzz-work/$name.log" |
    grep -E '^#[0-9]+.*(pulse|DONE)|ERROR|SUMMARY' || true
  rmdir "$HERE/regressions/$name" 2>/dev/null || true  # keep it only when something was found
  after=$(ls "$work" | wc -l)
  execs=$(grep -m1 'stat::number_of_executed_units' "$BUILD/fuzz-work/$name.log" | awk '{print $2}')
  rate=$(grep -m1 'stat::average_exec_per_sec' "$BUILD/fuzz-work/$name.log" | awk '{print $2}')
  cov=$(grep -o 'cov: [0-9]*' "$BUILD/fuzz-work/$name.log" | tail -1)
  echo "[fuzz] $name: ${execs:-?} executions, ${rate:-?} exec/s, $cov, $((after - before)) new inputs"
  grep -q 'ERROR: libFuzzer\|ERROR: AddressSanitizer\|invariant violated' "$BUILD/fuzz-work/$name.log" && status=1
done
exit $status
