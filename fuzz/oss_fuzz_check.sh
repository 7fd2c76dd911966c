#!/usr/bin/env bash
# Runs fuzz/build.sh the way OSS-Fuzz and ClusterFuzzLite do, without Docker,
# and checks what lands in $OUT (fuzz/README.md, "OSS-Fuzz and
# ClusterFuzzLite").
#
#   oss_fuzz_check.sh [SANITIZER...]   full builds (address undefined coverage
#                                      by default): every target, its .options,
#                                      .dict and _seed_corpus.zip in $OUT, and
#                                      each target runs over its seed zip
#   oss_fuzz_check.sh --list           cheap (CI): configure only, list what
#                                      $OUT would hold, fail on a target
#                                      without options, dictionary or seeds
#
# The environment of each sanitizer is the one OSS-Fuzz's base-builder sets
# for libFuzzer (infra/base-images/base-clang, compile): flags in $CFLAGS and
# $CXXFLAGS, the engine in $LIB_FUZZING_ENGINE. L7_OSS_FUZZ_WORK keeps the
# builds (default: a temporary folder removed at the end).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
source "$HERE/common.sh"

flags_for() {
  local common="-O1 -fno-omit-frame-pointer -gline-tables-only -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION"
  case $1 in
    address) echo "$common -fsanitize=address -fsanitize-address-use-after-scope -fsanitize=fuzzer-no-link" ;;
    undefined)
      # Unsigned overflow is reported but not fatal there, and silenced at run
      # time (UBSAN_OPTIONS below): hashes wrap on purpose.
      local fatal=array-bounds,bool,builtin,enum,float-divide-by-zero,function,integer-divide-by-zero,null,object-size,return,returns-nonnull-attribute,shift,signed-integer-overflow,unreachable,vla-bound,vptr
      echo "$common -fsanitize=$fatal,unsigned-integer-overflow -fno-sanitize-recover=$fatal -fsanitize=fuzzer-no-link" ;;
    coverage) echo "$common -fprofile-instr-generate -fcoverage-mapping -pthread -Wl,--no-as-needed -Wl,-ldl -Wl,-lm -Wno-unused-command-line-argument" ;;
    *) echo "unknown sanitizer $1" >&2; return 1 ;;
  esac
}

# Every target the build defines (its one-line-per-target calls), as the
# names fuzz/coverage.sh reads them.
declared_targets() {
  grep -oE '^l7_add_[a-z_]*fuzzer\([a-z_]*' "$HERE/CMakeLists.txt" |
    sed -E 's/l7_add_stream_fuzzer\(/fuzz_/; s/l7_add_roundtrip_fuzzer\(/fuzz_roundtrip_/; s/l7_add_fuzzer\(([a-z_]*).*/\1/' | sort -u
}

# What $OUT must hold for one target; prints what is missing.
missing_for() {
  local out=$1 name=$2
  [[ -x $out/$name ]] || echo "$name: no binary"
  [[ -f $out/$name.options ]] || echo "$name: no .options"
  [[ -f $out/$name.dict ]] || echo "$name: no .dict"
  [[ -s $out/${name}_seed_corpus.zip ]] || echo "$name: no _seed_corpus.zip"
}

if [[ ${1:-} == --list ]]; then
  status=0
  for name in $(declared_targets); do
    problems=()
    [[ -f $HERE/$name.options ]] || problems+=("no fuzz/$name.options")
    [[ -n $(fuzz_dict_for "$name") ]] || problems+=("no dictionary")
    [[ -n $(ls -A "$HERE/corpus/$name" 2>/dev/null) ]] || problems+=("no seeds in fuzz/corpus/$name")
    if [[ ${#problems[@]} -eq 0 ]]; then
      echo "[oss-fuzz] $name: \$OUT/$name $name.options $name.dict ${name}_seed_corpus.zip"
    else
      echo "[oss-fuzz] $name: ${problems[*]}"
      status=1
    fi
  done
  exit $status
fi

sanitizers=("$@")
[[ ${#sanitizers[@]} -gt 0 ]] || sanitizers=(address undefined coverage)
command -v clang >/dev/null || { echo "[oss-fuzz] SKIPPED: clang not installed"; exit 0; }
command -v zip >/dev/null || { echo "[oss-fuzz] SKIPPED: zip not installed"; exit 0; }
KEEP=${L7_OSS_FUZZ_WORK:-}
BASE=${KEEP:-$(mktemp -d)}
[[ -n $KEEP ]] || trap 'rm -rf "$BASE"' EXIT
status=0
for san in "${sanitizers[@]}"; do
  out=$BASE/out-$san work=$BASE/work src=$BASE/src
  rm -rf "$out"
  mkdir -p "$out" "$work" "$src"
  flags=$(flags_for "$san")
  start=$SECONDS
  echo "[oss-fuzz] $san: building (log: $work/build-$san.log)"
  if ! env CC=clang CXX=clang++ CFLAGS="$flags" CXXFLAGS="$flags" LIB_FUZZING_ENGINE=-fsanitize=fuzzer \
      SANITIZER="$san" FUZZING_ENGINE=libfuzzer OUT="$out" SRC="$src" WORK="$work" \
      "$HERE/build.sh" >"$work/build-$san.log" 2>&1; then
    echo "[oss-fuzz] $san: build.sh FAILED"; tail -20 "$work/build-$san.log"; status=1; continue
  fi
  echo "[oss-fuzz] $san: built in $((SECONDS - start)) s"
  for name in $(declared_targets); do
    problems=$(missing_for "$out" "$name")
    if [[ -n $problems ]]; then
      echo "[oss-fuzz] $san: $problems"; status=1; continue
    fi
    # The target runs from $OUT alone over its unzipped seeds, with its
    # options, as a fuzzing engine would start it.
    seeds=$work/seeds-$san-$name
    rm -rf "$seeds" && mkdir -p "$seeds" && (cd "$seeds" && unzip -q "$out/${name}_seed_corpus.zip")
    opts=()
    while IFS= read -r kv; do opts+=("$kv"); done < <(fuzz_options_for "$name")
    if (cd "$work" && LLVM_PROFILE_FILE="$work/$name-$san.profraw" UBSAN_OPTIONS=silence_unsigned_overflow=1 \
        "$out/$name" "${opts[@]}" -dict="$out/$name.dict" -runs=0 "$seeds" >"$work/run-$san-$name.log" 2>&1); then
      echo "[oss-fuzz] $san: $name ok ($(ls "$seeds" | wc -l) seeds, $(grep -oE 'cov: [0-9]+' "$work/run-$san-$name.log" | tail -1 || echo 'no cov counter'))"
    else
      echo "[oss-fuzz] $san: $name FAILED on its seeds"; tail -5 "$work/run-$san-$name.log"; status=1
    fi
  done
  extra=$(comm -13 <(declared_targets) <(find "$out" -maxdepth 1 -type f -perm -u+x -printf '%f\n' | sort))
  [[ -z $extra ]] || { echo "[oss-fuzz] $san: unexpected executables in \$OUT: $extra"; status=1; }
done
exit $status
