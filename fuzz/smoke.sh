#!/usr/bin/env bash
# CI fuzz smoke: every libFuzzer target in BUILD_DIR/fuzz for SECONDS each,
# under ASan/UBSan, from a scratch copy of its seeds (the committed corpus is
# never modified). Exit status non-zero on any finding.
set -uo pipefail
BUILD=${1:?usage: smoke.sh BUILD_DIR [SECONDS]}
SECONDS_EACH=${2:-5}
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/common.sh"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
status=0
for target in "$BUILD"/fuzz/fuzz_*; do
  [[ -x $target && -f $target ]] || continue
  name=$(basename "$target")
  mkdir -p "$WORK/$name"
  cp -r "$HERE/corpus/$name/." "$WORK/$name/" 2>/dev/null || true
  # Dictionary and defaults first: the target's own .options (max_len,
  # timeout, ...) override them.
  mapfile -t opts < <(fuzz_flags_for "$name")
  if "$target" "${opts[@]}" -max_total_time="$SECONDS_EACH" \
      -artifact_prefix="$WORK/$name-" -print_final_stats=1 "$WORK/$name" >"$WORK/$name.log" 2>&1; then
    execs=$(grep -m1 'stat::number_of_executed_units' "$WORK/$name.log" | awk '{print $2}')
    rate=$(grep -m1 'stat::average_exec_per_sec' "$WORK/$name.log" | awk '{print $2}')
    cov=$(grep -o 'cov: [0-9]*' "$WORK/$name.log" | tail -1)
    printf '[fuzz] %-24s ok   %8s execs  %6s exec/s  %s\n' "$name" "${execs:-?}" "${rate:-?}" "$cov"
  else
    status=1
    echo "[fuzz] $name FOUND A PROBLEM:"
    grep -E 'ERROR|SUMMARY|invariant|#[0-9]+ 0x' "$WORK/$name.log" | head -30
    for crash in "$WORK/$name"-*; do
      [[ -f $crash ]] || continue
      mkdir -p "$HERE/regressions/$name"
      cp "$crash" "$HERE/regressions/$name/"
      echo "[fuzz] reproducer saved to fuzz/regressions/$name/$(basename "$crash")"
    done
  fi
done
exit $status
