#!/usr/bin/env bash
# OSS-Fuzz / ClusterFuzzLite build script (fuzz/README.md, "OSS-Fuzz and
# ClusterFuzzLite"). Follows their environment contract:
#   $CC $CXX $CFLAGS $CXXFLAGS  compilers and flags, sanitizer flags included
#                               (OSS-Fuzz puts -fsanitize=address,fuzzer-no-link
#                               or the coverage flags there);
#   $LIB_FUZZING_ENGINE         what a fuzz target links for its main;
#   $SANITIZER                  address | undefined | coverage | ... (names
#                               the build folder; the flags come from $CFLAGS);
#   $SRC                        where the checkout lives ($SRC/l7conform in the
#                               Dockerfiles); this script finds the source from
#                               its own place, which is that checkout;
#   $WORK                       scratch space for the CMake build;
#   $OUT                        receives, per target: <target>, <target>.options,
#                               <target>.dict and <target>_seed_corpus.zip, and
#                               lib/ with the shared libraries they need
#                               (the runner image has only the C/C++ runtime).
# L7_JOBS limits the build's parallelism (default: every core).
set -euo pipefail
SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
source "$SRC_DIR/fuzz/common.sh"
OUT=${OUT:?OUT must name the output folder}
BUILD_DIR=${WORK:-/tmp}/l7conform-fuzz-${SANITIZER:-build}
mkdir -p "$OUT" "$BUILD_DIR"
# Shared libraries are looked up next to the target first ($OUT/lib), so the
# targets run on an image that has only the C and C++ runtimes.
cmake -S "$SRC_DIR" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER="${CC:-clang}" -DCMAKE_CXX_COMPILER="${CXX:-clang++}" \
  -DCMAKE_C_FLAGS="${CFLAGS:-}" -DCMAKE_CXX_FLAGS="${CXXFLAGS:-}" \
  -DCMAKE_EXE_LINKER_FLAGS="-Wl,-rpath,'\$ORIGIN/lib'" \
  -DL7_FUZZ=ON -DL7_FUZZ_ENGINE="${LIB_FUZZING_ENGINE:--fsanitize=fuzzer}" \
  -DL7_BUILD_TESTS=OFF -DL7_BUILD_BENCH=OFF -DL7_WERROR=OFF -DL7_GRPC=OFF >"$BUILD_DIR/configure.log"
# Only the fuzz targets, not the CLI and tools.
targets=$(sed -n 's/^L7_FUZZ_TARGETS:INTERNAL=//p' "$BUILD_DIR/CMakeCache.txt" | tr ';' '\n' | sort -u)
# shellcheck disable=SC2086  # one target name per word
cmake --build "$BUILD_DIR" -j"${L7_JOBS:-$(nproc)}" --target $targets

# Libraries every runner has; anything else a target loads goes to $OUT/lib.
system_lib() {
  [[ $1 =~ ^(linux-vdso|ld-linux|libc|libm|libdl|librt|libpthread|libstdc\+\+|libgcc_s|libresolv)\. ]]
}
mkdir -p "$OUT/lib"
for name in $targets; do
  bin="$BUILD_DIR/fuzz/$name"
  cp "$bin" "$OUT/"
  dict=$(fuzz_dict_for "$name")
  [[ -n $dict ]] && cp "$dict" "$OUT/$name.dict"
  [[ -f $SRC_DIR/fuzz/$name.options ]] && cp "$SRC_DIR/fuzz/$name.options" "$OUT/$name.options"
  rm -f "$OUT/${name}_seed_corpus.zip"
  if [[ -d $SRC_DIR/fuzz/corpus/$name ]]; then
    (cd "$SRC_DIR/fuzz/corpus/$name" && zip -q -r "$OUT/${name}_seed_corpus.zip" .)
  fi
  while read -r lib _ path _; do
    [[ -n ${path:-} && -f $path ]] || continue
    system_lib "$lib" || cp -L "$path" "$OUT/lib/$lib"
  done < <(ldd "$bin")
done
rmdir "$OUT/lib" 2>/dev/null || true
