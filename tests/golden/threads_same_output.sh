#!/usr/bin/env bash
# `check` replays captures on several threads: what it prints (stdout and
# stderr, the exit status too) must be the same with one thread and with
# several, on every corpus capture. The process's peak RSS, among the replay
# counters, is the one line that may differ.
set -uo pipefail
L7=${1:?usage: threads_same_output.sh L7CONFORM ROOT}
ROOT=${2:?usage: threads_same_output.sh L7CONFORM ROOT}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$L7" check "$ROOT/corpus" --golden "$ROOT/golden" --threads 1 >"$out/one" 2>&1
echo "exit $?" >>"$out/one"
"$L7" check "$ROOT/corpus" --golden "$ROOT/golden" --threads 4 >"$out/four" 2>&1
echo "exit $?" >>"$out/four"
if ! diff -u <(grep -v 'peak RSS' "$out/one") <(grep -v 'peak RSS' "$out/four"); then
  echo "check prints differently with --threads 1 and --threads 4"
  exit 1
fi
echo "check --threads 1 and --threads 4: identical output ($(wc -l <"$out/one") lines)"
