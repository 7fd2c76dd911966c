#!/usr/bin/env bash
# OSS-Fuzz / ClusterFuzzLite build script. Honours $CC $CXX $CFLAGS
# $CXXFLAGS $LIB_FUZZING_ENGINE $OUT (and $SRC/$WORK when set) and produces,
# per target: $OUT/<target>, <target>_seed_corpus.zip, <target>.dict,
# <target>.options.
set -euo pipefail
SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
source "$SRC_DIR/fuzz/common.sh"
BUILD_DIR=${WORK:-/tmp}/l7conform-fuzz-build
OUT=${OUT:?OUT must name the output folder}
cmake -S "$SRC_DIR" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER="${CC:-clang}" -DCMAKE_CXX_COMPILER="${CXX:-clang++}" \
  -DCMAKE_C_FLAGS="${CFLAGS:-}" -DCMAKE_CXX_FLAGS="${CXXFLAGS:-}" \
  -DL7_FUZZ=ON -DL7_FUZZ_ENGINE="${LIB_FUZZING_ENGINE:--fsanitize=fuzzer}" \
  -DL7_BUILD_TESTS=OFF -DL7_BUILD_BENCH=OFF -DL7_WERROR=OFF -DL7_GRPC=OFF
cmake --build "$BUILD_DIR" -j"$(nproc)"
for bin in "$BUILD_DIR"/fuzz/fuzz_*; do
  [[ -x $bin && -f $bin ]] || continue
  name=$(basename "$bin")
  cp "$bin" "$OUT/"
  dict=$(fuzz_dict_for "$name")
  [[ -n $dict ]] && cp "$dict" "$OUT/$name.dict"
  [[ -f $SRC_DIR/fuzz/$name.options ]] && cp "$SRC_DIR/fuzz/$name.options" "$OUT/$name.options"
  if [[ -d $SRC_DIR/fuzz/corpus/$name ]]; then
    (cd "$SRC_DIR/fuzz/corpus/$name" && zip -q -r "$OUT/${name}_seed_corpus.zip" .)
  fi
done
