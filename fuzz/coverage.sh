#!/usr/bin/env bash
# ./run fuzz-coverage: line coverage of the decoders reached by the fuzz
# corpora (seeds plus anything ./run fuzz found, in build-fuzz/fuzz-work).
# Builds the replay-main targets with clang source-based coverage into
# build-cov, replays every corpus, and prints an llvm-cov report of all of
# them together, then one line per target: the line coverage of the code
# that target is for (its decoder, the trace-context parsers, ...).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build-cov
# Where ./run fuzz keeps what it found (L7_FUZZ_WORK for runs kept elsewhere).
WORK=${L7_FUZZ_WORK:-$ROOT/build-fuzz/fuzz-work}
command -v llvm-profdata-14 >/dev/null || { echo "needs llvm-14 (apt-get install llvm-14)"; exit 2; }
if [[ ! -f $BUILD/build.ninja ]]; then
  CC=clang CXX=clang++ cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DL7_WERROR=OFF -DL7_GRPC=OFF \
    -DL7_BUILD_BENCH=OFF -DCMAKE_CXX_FLAGS="-fprofile-instr-generate -fcoverage-mapping" \
    -DCMAKE_EXE_LINKER_FLAGS="-fprofile-instr-generate" >/dev/null
fi
# Only the fuzz targets (their "one line per target" calls in fuzz/CMakeLists.txt).
targets=$(grep -oE '^l7_add_[a-z_]*fuzzer\([a-z_]*' "$ROOT/fuzz/CMakeLists.txt" |
  sed -E 's/l7_add_stream_fuzzer\(/fuzz_/; s/l7_add_roundtrip_fuzzer\(/fuzz_roundtrip_/; s/l7_add_fuzzer\(([a-z_]*).*/\1/')
cmake --build "$BUILD" -j"$(nproc)" --target $targets >/dev/null
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

# The code each target exists to exercise.
code_of() {
  case $1 in
    fuzz_roundtrip_*) echo "parsers/${1#fuzz_roundtrip_}" ;;
    fuzz_pcap) echo "harness/capture harness/session parsers" ;;
    fuzz_tracectx) echo "parsers/tracectx" ;;
    fuzz_skywalking_json) echo "harness/skywalking/segment_mapper.cc" ;;
    fuzz_*) echo "parsers/${1#fuzz_}" ;;
  esac
}
echo
printf '%-24s %-42s %s\n' target "code it exercises" "line coverage"
for bin in "$BUILD"/fuzz/fuzz_*; do
  [[ -x $bin && -f $bin ]] || continue
  name=$(basename "$bin")
  llvm-profdata-14 merge -sparse "$BUILD/cov-$name.profraw" -o "$BUILD/$name.profdata"
  paths=()
  for p in $(code_of "$name"); do paths+=("$ROOT/$p"); done
  # TOTAL row: regions missed cover functions missed executed lines missed cover ...
  lines=$(llvm-cov-14 report "$bin" -instr-profile="$BUILD/$name.profdata" "${paths[@]}" |
    awk '/^TOTAL/{print $8 " lines, " $9 " missed, " $10}')
  printf '%-24s %-42s %s\n' "$name" "$(code_of "$name")" "$lines"
done
