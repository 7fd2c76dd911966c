#!/usr/bin/env bash
# ./run fuzz-coverage: line coverage of the decoders reached by the fuzz
# corpora (seeds plus anything ./run fuzz found, in build-fuzz/fuzz-work).
# Builds the replay-main targets with clang source-based coverage into
# build-cov, replays every corpus, and prints an llvm-cov report.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build-cov
# Where ./run fuzz keeps what it found (L7_FUZZ_WORK for runs kept elsewhere).
WORK=${L7_FUZZ_WORK:-$ROOT/build-fuzz/fuzz-work}
command -v llvm-profdata-14 >/dev/null || { echo "needs llvm-14 (apt-get install llvm-14)"; exit 2; }
if [[ ! -f $BUILD/build.ninja ]]; then
  CC=clang CXX=clang++ cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DL7_WERROR=OFF \
    -DL7_BUILD_BENCH=OFF -DCMAKE_CXX_FLAGS="-fprofile-instr-generate -fcoverage-mapping" \
    -DCMAKE_EXE_LINKER_FLAGS="-fprofile-instr-generate" >/dev/null
fi
cmake --build "$BUILD" -j"$(nproc)" >/dev/null
rm -f "$BUILD"/cov-*.profraw
objects=()
for bin in "$BUILD"/fuzz/fuzz_*; do
  [[ -x $bin && -f $bin ]] || continue
  name=$(basename "$bin")
  dirs=("$ROOT/fuzz/corpus/$name")
  [[ -d $WORK/$name ]] && dirs+=("$WORK/$name")
  LLVM_PROFILE_FILE="$BUILD/cov-$name.profraw" "$bin" "${dirs[@]}" >/dev/null
  objects+=(-object "$bin")
done
llvm-profdata-14 merge -sparse "$BUILD"/cov-*.profraw -o "$BUILD/fuzz.profdata"
llvm-cov-14 report "${objects[@]:1}" -instr-profile="$BUILD/fuzz.profdata" \
  "$ROOT/parsers" "$ROOT/harness/capture" "$ROOT/harness/session" | sed "s|$ROOT/||"
